import { openCommandDeps, type CliIo } from './command-deps';
import { reportFailure } from './failure';
import { createProgram } from './program';

export type { CliIo } from './command-deps';

/** Runs `settle-ops` with `argv` (without node and script); returns the exit code. Errors are one line on stderr. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const { deps, close } = openCommandDeps(io);
  try {
    await createProgram(io, deps).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    return reportFailure(error, io.stderr);
  } finally {
    await close();
  }
}
