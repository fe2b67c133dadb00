import type { Config } from '@settle/config';
import type { Pool } from '@settle/db';

/** What runCli hands each command module: the lazily opened pool and config, output, who runs it, usage errors. */
export interface CommandDeps {
  getPool: () => Pool;
  getConfig: () => Config;
  print: (text: string) => void;
  stderr: NodeJS.WritableStream;
  who: (by: string | undefined) => string;
  /** Stops the command with a one-line usage error (exit 2). */
  usage: (message: string) => never;
}
