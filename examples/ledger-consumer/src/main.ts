/**
 * The ledger consumer as a process (DATABASE_URL, KAFKA_BROKERS, ORDER_EVENTS_TOPIC, LEDGER_GROUP_ID):
 *
 *   ledger-consumer [start]                       consume until SIGINT / SIGTERM
 *   ledger-consumer blocked [--json]              the orders held behind a dead letter
 *   ledger-consumer resolve <orderId> --skip      drop the order's dead letter, then hand over its held events
 *   ledger-consumer resolve <orderId> --retry     hand the dead event to the handler again, then the held ones
 *
 * A bad argument or environment gets one line on stderr and exit code 1.
 */
import { Command, CommanderError, Option } from 'commander';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { createOrderEventConsumer, migrateInbox, type OrderEventConsumer } from '@settle/consumer';
import { ledgerHandler, migrateLedger } from './ledger';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class UsageError extends Error {}

function connect(): { pool: pg.Pool; consumer: OrderEventConsumer } {
  const env = process.env;
  const databaseUrl = env['DATABASE_URL']?.trim();
  if (databaseUrl === undefined || databaseUrl === '') throw new UsageError("set DATABASE_URL to the ledger's own database");
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  const consumer = createOrderEventConsumer({
    kafka: new Kafka({
      brokers: (env['KAFKA_BROKERS'] ?? 'localhost:9092').split(',').map((broker) => broker.trim()),
      clientId: 'ledger',
      logLevel: logLevel.WARN,
    }),
    groupId: env['LEDGER_GROUP_ID'] ?? 'ledger',
    topic: env['ORDER_EVENTS_TOPIC'] ?? 'settle.order.events',
    pool,
    handler: ledgerHandler,
    onError: (error, where) =>
      process.stderr.write(`ledger: ${where.orderId ?? '?'} at ${where.offset} (attempt ${where.attempt}): ${String(error)}\n`),
  });
  return { pool, consumer };
}

async function start(): Promise<void> {
  const { pool, consumer } = connect();
  await migrateInbox(pool);
  await migrateLedger(pool);
  await consumer.start();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void consumer.stop().then(() => pool.end());
    });
  }
}

async function blocked(options: { json?: boolean }): Promise<void> {
  const { pool, consumer } = connect();
  try {
    await migrateInbox(pool);
    const orders = await consumer.blocked();
    if (options.json === true) process.stdout.write(`${JSON.stringify(orders)}\n`);
    else if (orders.length === 0) process.stdout.write('no order is held\n');
    else for (const order of orders) process.stdout.write(`${order.orderId}  since ${order.blockedAt.toISOString()}  ${order.reason}\n`);
  } finally {
    await pool.end();
  }
}

async function resolve(orderId: string, options: { retry?: boolean; skip?: boolean }): Promise<void> {
  if (!UUID.test(orderId)) throw new UsageError(`${orderId} is not an order id (a UUID such as 0b9c…-…)`);
  if (options.retry === options.skip)
    throw new UsageError('say what to do with the dead letter: --skip (drop it) or --retry (handle it again)');
  const { pool, consumer } = connect();
  try {
    await migrateInbox(pool);
    if (!(await consumer.blocked()).some((order) => order.orderId === orderId))
      throw new UsageError(`order ${orderId} is not held (\`blocked\` lists the held orders)`);
    const { handled } = await consumer.resolve(orderId, options.retry === true ? 'retry' : 'skip');
    process.stdout.write(
      `${orderId}: resolved (${options.retry === true ? 'retried' : 'skipped'} the dead letter), ${handled} events handled\n`,
    );
  } finally {
    await pool.end();
  }
}

const program = new Command('ledger-consumer')
  .description('per-merchant completed volume per currency and day, from settle.order.events')
  .exitOverride()
  .configureOutput({ writeErr: (text) => process.stderr.write(text.split('\n')[0] + '\n') });
program.command('start', { isDefault: true }).description('consume until SIGINT or SIGTERM').action(start);
program.command('blocked').description('the orders held behind a dead letter').option('--json', 'as JSON').action(blocked);
program
  .command('resolve')
  .description('end the hold on an order after its dead letter was looked at')
  .argument('<orderId>')
  .addOption(new Option('--skip', 'drop the dead letter, then hand over the held events').conflicts('retry'))
  .addOption(new Option('--retry', 'hand the dead event to the handler again, then the held events'))
  .action(resolve);

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 1);
  process.stderr.write(`ledger-consumer: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
