import { Writable } from 'node:stream';
import { testStack } from '@settle/testkit';
import { runCli } from '../src/cli';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `settle-ops <args>` through runCli in this process: the same parsing and output, without a process start per call. */
export async function runCliInProcess(env: NodeJS.ProcessEnv, args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]): NodeJS.WritableStream =>
    new Writable({ write: (chunk: Buffer, _encoding, done) => (into.push(chunk.toString()), done()) });
  const code = await runCli(args, { stdout: sink(out), stderr: sink(err), env });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** The environment a test runs settle-ops with: the database at `databaseUrl`, the test broker, and `env` over them. */
export function cliEnv(databaseUrl: string, env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'], DATABASE_URL: databaseUrl, KAFKA_BROKERS: testStack().kafkaBrokers.join(','), ...env };
}
