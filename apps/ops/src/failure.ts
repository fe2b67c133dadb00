import { ConfigError } from '@settle/config';
import { SettleError } from '@settle/domain';
import { CommanderError } from 'commander';

/** A usage or input problem: one line to stderr, exit code 2. */
export class UsageError extends Error {}

/**
 * Writes why a run failed as one line (`settle-ops: <reason>`) and returns its exit code: 2 for bad usage or
 * configuration, 1 when the operation itself failed; 0 for commander's own exits (--help, --version).
 */
export function reportFailure(error: unknown, stderr: NodeJS.WritableStream): number {
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) return 0;
    stderr.write(`settle-ops: ${error.message.replace(/^error: /, '')}\n`);
    return 2;
  }
  stderr.write(`settle-ops: ${oneLine(error)}\n`);
  return error instanceof UsageError || error instanceof ConfigError ? 2 : 1;
}

function oneLine(error: unknown): string {
  if (error instanceof SettleError || error instanceof UsageError || error instanceof ConfigError) return error.message;
  const message = error instanceof Error ? `${error.message}` : String(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === 'ECONNREFUSED') return `cannot reach the database or broker (${message})`;
  return message.split('\n')[0] ?? message;
}
