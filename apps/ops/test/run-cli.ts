import { Writable } from 'node:stream';
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
