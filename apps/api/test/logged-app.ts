import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { testApp, type Harness } from './harness';

export interface LoggedApp {
  url: string;
  /** Every log line the app wrote so far, parsed. */
  lines(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** A second app on the harness's database and config (its tokens work) whose log lines are kept for assertions. */
export async function startLoggedApp(api: Harness): Promise<LoggedApp> {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = pino({ level: 'info', base: { app: 'api' } }, sink);
  const app = testApp(api.config, api.pool, { logger });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    lines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
