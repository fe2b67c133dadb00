/** The ledger consumer as a process: DATABASE_URL, KAFKA_BROKERS, ORDER_EVENTS_TOPIC, LEDGER_GROUP_ID. */
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { createOrderEventConsumer, migrateInbox } from '@settle/consumer';
import { ledgerHandler, migrateLedger } from './ledger';

const env = process.env;
const pool = new pg.Pool({ connectionString: env['DATABASE_URL'] });
await migrateInbox(pool);
await migrateLedger(pool);
const consumer = createOrderEventConsumer({
  kafka: new Kafka({ brokers: (env['KAFKA_BROKERS'] ?? 'localhost:9092').split(','), clientId: 'ledger', logLevel: logLevel.WARN }),
  groupId: env['LEDGER_GROUP_ID'] ?? 'ledger',
  topic: env['ORDER_EVENTS_TOPIC'] ?? 'settle.order.events',
  pool,
  handler: ledgerHandler,
  onError: (error, where) => process.stderr.write(`ledger: ${where.orderId ?? '?'} at ${where.offset} (attempt ${where.attempt}): ${String(error)}\n`),
});
await consumer.start();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void consumer.stop().then(() => pool.end());
  });
}
