import { inspectRelaySlot, recreateRelaySlot } from '@settle/db';
import type { Command } from 'commander';
import type { CommandDeps } from './command-deps';

/** `settle-ops relay status | recreate-slot`: the relay's replication slot. */
export function registerRelayCommands(program: Command, deps: CommandDeps): void {
  const relay = program.command('relay').description("the relay's replication slot");
  relay
    .command('status')
    .description('is the slot there, active, and how far has it confirmed')
    .option('--json', 'JSON output')
    .action(async (options: { json?: boolean }) => {
      const slot = deps.getConfig().RELAY_SLOT;
      const state = await inspectRelaySlot(deps.getPool(), slot);
      if (options.json === true) deps.print(JSON.stringify({ slot, ...state }, null, 2));
      else if (state.status === 'ok')
        deps.print(
          `slot ${slot}: ok, ${state.active ? 'streaming' : 'not streaming'}, confirmed up to ${state.confirmedFlushLsn ?? 'nothing yet'}`,
        );
      else deps.print(`slot ${slot}: ${state.status}: ${state.reason}`);
    });
  relay
    .command('recreate-slot')
    .description(
      'create a lost slot again from the current WAL position (events committed while it was missing are NOT streamed: re-publish them first)',
    )
    .requiredOption('--reason <text>', 'why (printed; say which outbox rows were re-published)')
    .option('--yes', 'confirm: you understand events since the old slot position will not be relayed from the WAL')
    .action(async (options: { reason: string; yes?: boolean }) => {
      if (options.yes !== true)
        deps.usage('recreating the slot skips every event committed while it was missing: re-publish them, then run again with --yes');
      if (options.reason.trim() === '') deps.usage('--reason must say why');
      const config = deps.getConfig();
      const created = await recreateRelaySlot(deps.getPool(), config.RELAY_SLOT, config.RELAY_PUBLICATION);
      deps.print(
        created
          ? `recreated slot ${config.RELAY_SLOT} (${options.reason} — by ${deps.who(undefined)})`
          : `slot ${config.RELAY_SLOT} exists: nothing to do`,
      );
    });
}
