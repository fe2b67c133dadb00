import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, repoRoot } from '@settle/config';
import { createPool, setupRelaySlot, type Pool } from '@settle/db';
import type { Actor } from '@settle/domain';
import { startRelay, type Relay } from '@settle/relay';
import { createTestDatabase, createTestTopics, testStack, uniqueSuffix, walkSellOrder, type TestDatabase } from '@settle/testkit';

/** The consumer example of docs/integrating.md, as written there. */
async function docsExample(): Promise<string> {
  const text = await fs.readFile(path.join(repoRoot, 'docs/integrating.md'), 'utf8');
  const match = /<!-- run by examples\/ledger-consumer\/test\/docs-example\.test\.ts -->\n```ts\n([\s\S]*?)```/.exec(text);
  if (match?.[1] === undefined) throw new Error('docs/integrating.md has no tested consumer example');
  return match[1];
}

/**
 * A service directory of its own, outside this repository, holding the example and a node_modules with only what
 * a team installing the packed kit gets: the tarball `npm run pack:consumer` writes, its declared dependencies and
 * peers, and the type packages a TypeScript service adds. Anything else the kit imported would not resolve.
 */
async function packedService(example: string): Promise<{ dir: string; file: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'settle-kit-'));
  // As a team's build would: the script's one line of output is the tarball.
  const tarball = execFileSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'scripts/pack-consumer.ts'), '--out', dir], {
    cwd: repoRoot,
    encoding: 'utf8',
  }).trim();
  const modules = path.join(dir, 'service', 'node_modules');
  const kit = path.join(modules, '@settle', 'consumer');
  await fs.mkdir(kit, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', kit, '--strip-components=1']);
  const manifest = JSON.parse(await fs.readFile(path.join(kit, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
  };
  for (const name of [...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies), '@types/node', '@types/pg']) {
    await fs.mkdir(path.dirname(path.join(modules, name)), { recursive: true });
    await fs.symlink(path.join(repoRoot, 'node_modules', name), path.join(modules, name));
  }
  const file = path.join(dir, 'service', 'consumer.ts');
  await fs.writeFile(file, example);
  await fs.writeFile(path.join(dir, 'service', 'package.json'), JSON.stringify({ name: 'my-service', private: true, type: 'module' }));
  await fs.writeFile(
    path.join(dir, 'service', 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2023',
        skipLibCheck: false,
        types: ['node'],
      },
      files: ['consumer.ts'],
    }),
  );
  return { dir, file };
}

describe.each([
  { from: 'the workspace', packed: false },
  { from: 'the packed @settle/consumer, in a service of its own', packed: true },
])('the consumer example in docs/integrating.md, run against $from', ({ packed }) => {
  let db: TestDatabase;
  let pool: Pool;
  let relay: Relay;
  let topic: string;

  beforeAll(async () => {
    db = await createTestDatabase(packed ? 'docs_example_packed' : 'docs_example');
    pool = createPool(db.url, { max: 3 });
    ({ events: topic = '' } = await createTestTopics('docs', [
      { name: 'events', numPartitions: 3 },
      { name: 'events.dlt', numPartitions: 1 },
    ]));
    const slot = `docs_${uniqueSuffix()}`;
    await setupRelaySlot(pool, slot, 'settle_outbox_pub');
    relay = await startRelay({
      config: loadConfig({
        LOG_LEVEL: 'error',
        DATABASE_URL: db.url,
        KAFKA_BROKERS: testStack().kafkaBrokers.join(','),
        ORDER_EVENTS_TOPIC: topic,
        RELAY_SLOT: slot,
        RELAY_HEARTBEAT_MS: '250',
      }),
      port: null,
    });
  });

  afterAll(async () => {
    await relay?.stop();
    await pool?.end();
    await db?.drop();
  });

  it('runs as written and records a completed order once', async () => {
    const n = uniqueSuffix();
    const user: Actor = { role: 'user', id: `u-docs-${n}` };
    const merchant: Actor = { role: 'merchant', id: `m-docs-${n}` };
    const [created] = await walkSellOrder(pool, { user, merchant, label: `docs-${n}` });
    const id = created!.id;

    // From the workspace: beside the example workspace, so its imports resolve as they would in a service
    // depending on the kit. Packed: in a directory of its own, type-checked against the kit's declarations first.
    const service = packed ? await packedService(await docsExample()) : undefined;
    const file = service?.file ?? path.join(repoRoot, 'examples/ledger-consumer', `.docs-example-${randomBytes(4).toString('hex')}.ts`);
    if (service === undefined) await fs.writeFile(file, await docsExample());
    if (service !== undefined) {
      const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
      const checked = spawnSync(process.execPath, [tsc, '-p', path.dirname(file)], { encoding: 'utf8' });
      expect(checked.stdout + checked.stderr, 'the example type-checks against the packed declarations').toBe('');
    }
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const output: string[] = [];
    const child = spawn(process.execPath, ['--import', tsx, file], {
      cwd: path.dirname(file),
      env: {
        PATH: process.env['PATH'],
        DATABASE_URL: db.url,
        KAFKA_BROKERS: testStack().kafkaBrokers.join(','),
        ORDER_EVENTS_TOPIC: topic,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const deadline = Date.now() + 30_000;
      const rows = async () =>
        (
          await pool
            .query<{ order_id: string; fiat_amount: string; fiat_currency: string }>(
              'SELECT order_id, fiat_amount::text, fiat_currency FROM completed_orders',
            )
            .catch(() => ({ rows: [] }))
        ).rows;
      while ((await rows()).length === 0) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the example recorded nothing: ${output.join('')}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(await rows()).toEqual([{ order_id: id, fiat_amount: '367.25', fiat_currency: 'AED' }]);
      const inbox = await pool.query<{ n: number }>(
        `SELECT count(*)::integer AS n FROM settle_inbox WHERE consumer = 'my-service' AND order_id = $1 AND state = 'done'`,
        [id],
      );
      expect(inbox.rows[0]?.n).toBe(5);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await fs.rm(service?.dir ?? file, { recursive: true, force: true });
    }
  });
});
