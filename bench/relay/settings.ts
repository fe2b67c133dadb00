/**
 * The RELAY_* variables of the bench's own environment, passed to the relays a bench starts so a run can try other
 * settings (`RELAY_LINGER_MS=10 npm run bench:relay`). Whatever a bench sets itself (a contender's settings, its
 * slot, port and topics) goes after them and wins. No imports: bench:notifier's heap figures include this module.
 */
export function relaySettingsFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[0].startsWith('RELAY_') && entry[1] !== undefined),
  );
}
