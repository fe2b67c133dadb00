import { Command } from 'commander';
import { registerAuditCommand } from './audit';
import type { CliIo, CommandDeps } from './command-deps';
import { registerDlqCommands } from './dlq';
import { registerRelayCommands } from './relay-slot';
import { registerRepairCommand } from './repair';
import { registerRepublishCommand } from './republish';
import { registerStatusCommand } from './status';
import { registerTokenCommand } from './token';

/**
 * The `settle-ops` commander program with every command group (help lists them in this order). It throws instead of
 * exiting and prints no error of its own: runCli reports failures in one line.
 */
export function createProgram(io: CliIo, deps: CommandDeps): Command {
  const program = new Command('settle-ops')
    .description('Settle operations: dead letters, the relay slot, dev tokens')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text), outputError: () => undefined })
    .showSuggestionAfterError(false);
  registerDlqCommands(program, deps);
  registerTokenCommand(program, deps);
  registerRelayCommands(program, deps);
  registerRepairCommand(program, deps);
  registerStatusCommand(program, deps);
  registerAuditCommand(program, deps);
  registerRepublishCommand(program, deps);
  return program;
}
