import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { AppDependencies, AppOptions } from '../src/app';
import { testApp, type Harness } from './harness';

export interface SecondApp {
  url: string;
  close(): Promise<void>;
}

export interface LoggedApp extends SecondApp {
  /** Every log line the app wrote so far, parsed. */
  lines(): Array<Record<string, unknown>>;
}

/** A second app on the harness's database and config (its tokens work), with `deps` and `options` of its own. */
export async function startSecondApp(api: Harness, deps: Partial<AppDependencies> = {}, options: AppOptions = {}): Promise<SecondApp> {
  const app = testApp(api.config, api.pool, deps, options);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A second app whose log lines are kept for assertions. */
export async function startLoggedApp(api: Harness): Promise<LoggedApp> {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = pino({ level: 'info', base: { app: 'api' } }, sink);
  const app = await startSecondApp(api, { logger });
  return { ...app, lines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}
