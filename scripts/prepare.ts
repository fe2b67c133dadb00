import type { KafkaConfig, RelaySlotConfig } from '@settle/config';
import { createPool, migrate, setupRelaySlot } from '@settle/db';
import { createKafka, ensureTopics, orderTopics } from '@settle/kafka';

/**
 * Everything the apps need before they start, idempotent: migrations, the relay's replication slot (created
 * here once, never by the relay; see apps/relay/README.md) and the topics.
 */
export async function prepareSystem(
  config: RelaySlotConfig & Pick<KafkaConfig, 'KAFKA_CLIENT_ID' | 'ORDER_EVENTS_TOPIC' | 'ORDER_EVENTS_PARTITIONS'>,
  databaseUrl: string,
  brokers: string[],
  say: (line: string) => void,
): Promise<void> {
  const migrations = await migrate(databaseUrl);
  say(`migrations: ${migrations.length === 0 ? 'up to date' : `applied ${migrations.join(', ')}`}`);
  if (config.RELAY_MODE === 'wal') {
    const pool = createPool(databaseUrl, { max: 1, applicationName: 'settle-setup' });
    try {
      const outcome = await setupRelaySlot(pool, config.RELAY_SLOT, config.RELAY_PUBLICATION);
      say(
        outcome === 'missing'
          ? `relay slot: ${config.RELAY_SLOT} is MISSING (it existed before): the relay will refuse to stream until an operator recreates it`
          : `relay slot: ${config.RELAY_SLOT} (${outcome})`,
      );
    } finally {
      await pool.end();
    }
  }
  const topics = orderTopics(config.ORDER_EVENTS_TOPIC, config.ORDER_EVENTS_PARTITIONS);
  await ensureTopics(createKafka({ brokers, clientId: `${config.KAFKA_CLIENT_ID}-setup` }), topics);
  say(`topics: ${topics.map((spec) => spec.topic).join(', ')}`);
}
