import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '@settle/config';
import { createKafka } from '@settle/kafka';
import { freePort, isAlive, waitForExit } from '@settle/stack';
import { runAlone } from '@settle/testkit';

const started: string[] = [];

/** pid → parent pid of every process on the machine. */
function processTable(): Array<{ pid: number; ppid: number; command: string }> {
  const output = spawnSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' }).stdout;
  return output
    .split('\n')
    .map((line) => line.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/))
    .filter((match): match is RegExpMatchArray => match !== null)
    .map((match) => ({ pid: Number(match[1]), ppid: Number(match[2]), command: match[3] ?? '' }));
}

/** The process group of a live process (Linux /proc: the fifth field of stat). */
async function processGroup(pid: number): Promise<number> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

function descendants(root: number): Array<{ pid: number; command: string }> {
  const table = processTable();
  const found: Array<{ pid: number; command: string }> = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const entry of table.filter((row) => row.ppid === parent)) {
      found.push({ pid: entry.pid, command: entry.command });
      queue.push(entry.pid);
    }
  }
  return found;
}

/** A live process's state, parent pid and kernel wait channel, for a failure message (Linux /proc). */
async function procState(pid: number): Promise<string> {
  const read = (file: string): Promise<string> => fs.readFile(`/proc/${pid}/${file}`, 'utf8').catch(() => '?');
  const stat = await read('stat');
  const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return `state ${state} ppid ${ppid} wchan ${await read('wchan')}`;
}

async function systemEnvironment(): Promise<NodeJS.ProcessEnv> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'settle-lifecycle-'));
  started.push(dir);
  // mkdtemp makes the directory 0700; as root, Postgres runs as the postgres user and must enter it.
  await fs.chmod(dir, 0o755);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SETTLE_DATA_DIR: dir,
    PG_PORT: String(await freePort()),
    KAFKA_PORT: String(await freePort()),
    KAFKA_CONTROLLER_PORT: String(await freePort()),
    PORT: String(await freePort()),
    NOTIFIER_PORT: String(await freePort()),
    RELAY_PORT: String(await freePort()),
    WORKER_PORT: String(await freePort()),
  };
  delete env['DATABASE_URL'];
  delete env['KAFKA_BROKERS'];
  return env;
}

interface RunningSystem {
  child: ChildProcess;
  output: () => string;
  dir: string;
}

/** `detached`: in a process group of its own, as a shell runs a job, so the test can Ctrl-C the whole job. */
async function startSystem(
  command: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
  options: { detached?: boolean } = {},
): Promise<RunningSystem> {
  const environment = env ?? (await systemEnvironment());
  const dir = environment['SETTLE_DATA_DIR'] ?? '';
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: environment,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached === true,
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const deadline = Date.now() + 180_000;
  while (!text.includes('Settle is up')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`npm start did not come up:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { child, output: () => text, dir };
}

afterEach(async () => {
  // A failed test may leave its system running: stop whatever still uses the directory before removing it.
  for (const dir of started.splice(0)) {
    for (const entry of processTable().filter((row) => row.command.includes(dir))) {
      try {
        process.kill(entry.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await fs.rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
});

// Each test starts the whole system (Postgres, Kafka and every app) once or twice: give it room on 2 cores.
const SYSTEM_TIMEOUT = 240_000;

describe('npm start lifecycle', () => {
  runAlone();

  it(
    'SIGTERM to npm start stops the apps, Kafka and Postgres with no process left behind',
    async () => {
      const env = await systemEnvironment();
      const system = await startSystem('npm', ['start'], env);
      const tree = descendants(system.child.pid ?? -1);
      const java = tree.filter((entry) => entry.command.includes('kafka.Kafka'));
      const postgres = tree.filter((entry) => entry.command.includes(system.dir) && entry.command.includes('postgres'));
      expect(java).toHaveLength(1);
      expect(postgres).toHaveLength(1);

      // Starting again while it runs is refused in one line and leaves the running system alone.
      const second = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
        cwd: repoRoot,
        env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(second.status).toBe(1);
      expect(second.stderr.trim().split('\n')).toHaveLength(1);
      expect(second.stderr).toMatch(/^settle: port \d+ is already taken/);
      expect([...java, ...postgres].every((entry) => isAlive(entry.pid))).toBe(true);

      system.child.kill('SIGTERM');
      for (const entry of [...java, ...postgres]) expect(await waitForExit(entry.pid, 30_000)).toBe(true);
      // Everything it started (apps, servers, their guard shells) is gone shortly after.
      for (const entry of tree) await waitForExit(entry.pid, 5_000);
      expect(tree.filter((entry) => isAlive(entry.pid))).toEqual([]);
    },
    SYSTEM_TIMEOUT,
  );

  it(
    'Ctrl-C reaches the supervisor, not Postgres or Kafka: they keep running until the last app has stopped',
    async () => {
      const system = await startSystem(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], undefined, { detached: true });
      const job = system.child.pid ?? -1;
      const tree = descendants(job);
      const servers = tree.filter((entry) => entry.command.includes('kafka.Kafka') || entry.command.includes(`-D ${system.dir}`));
      const apps = tree.filter((entry) => /apps\/\w+\/src\/main\.ts/.test(entry.command));
      expect(servers).toHaveLength(2);
      expect(apps).toHaveLength(4);
      for (const server of servers) expect(await processGroup(server.pid), server.command).not.toBe(job);

      // What a terminal does on Ctrl-C: SIGINT to every process of the foreground job.
      process.kill(-job, 'SIGINT');
      while (apps.some((app) => isAlive(app.pid))) {
        expect(servers.filter((server) => !isAlive(server.pid)).map((server) => server.command)).toEqual([]);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      for (const server of servers) expect(await waitForExit(server.pid, 30_000)).toBe(true);
      expect(await waitForExit(job, 10_000)).toBe(true);
      expect(system.output()).toContain('stopped: no Settle process is left running');
    },
    SYSTEM_TIMEOUT,
  );

  it(
    'a SIGKILLed supervisor still takes Kafka, Postgres and every app down with it',
    async () => {
      const system = await startSystem(process.execPath, ['--import', 'tsx', 'scripts/start.ts']);
      const tree = descendants(system.child.pid ?? -1);
      const servers = tree.filter((entry) => entry.command.includes('kafka.Kafka') || entry.command.includes(`-D ${system.dir}`));
      expect(servers).toHaveLength(2);
      const apps = tree.filter((entry) => /apps\/\w+\/src\/main\.ts/.test(entry.command));
      expect(apps.length).toBeGreaterThanOrEqual(4);

      system.child.kill('SIGKILL');
      // The guards stop Kafka and Postgres; the apps notice their supervisor is gone and stop too (or are cut
      // short by their grace period when the broker or database vanished under them).
      for (const entry of [...servers, ...apps]) {
        const gone = await waitForExit(entry.pid, 40_000);
        // On a failure, say what the survivor is doing (run state, parent, kernel wait channel).
        expect({ command: entry.command.slice(0, 80), gone, ...(gone ? {} : { proc: await procState(entry.pid) }) }).toEqual({
          command: entry.command.slice(0, 80),
          gone: true,
        });
      }
    },
    SYSTEM_TIMEOUT,
  );

  it(
    'each app SIGKILLed under npm start comes back ready by itself, and no event is lost',
    async () => {
      const env = await systemEnvironment();
      const system = await startSystem(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], env);
      const token = (id: string): string => new RegExp(`${id}\\s+(\\S+)`).exec(system.output())?.[1] ?? '';
      const api = `http://127.0.0.1:${env['PORT']}`;
      const createOrder = async (): Promise<string> => {
        const response = await fetch(`${api}/v1/orders`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token('user-ana')}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            type: 'sell',
            merchantId: 'merchant-alpha',
            cryptoAmount: '100',
            fiatAmount: '367.25',
            fiatCurrency: 'AED',
            rate: '3.6725',
            paymentMethod: 'upi',
          }),
        });
        expect(response.status).toBe(201);
        return ((await response.json()) as { id: string }).id;
      };
      const ready = async (port: string | undefined): Promise<boolean> => {
        try {
          return (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200;
        } catch {
          return false;
        }
      };
      const appPid = (name: string): number | undefined =>
        descendants(system.child.pid ?? -1).find(
          (entry) => entry.command.includes(`apps/${name}/src/main.ts`) && !entry.command.startsWith('sh'),
        )?.pid;
      const ports: Record<string, string | undefined> = {
        relay: env['RELAY_PORT'],
        worker: env['WORKER_PORT'],
        notifier: env['NOTIFIER_PORT'],
        api: env['PORT'],
      };
      const orders = [await createOrder()];
      for (const name of ['relay', 'notifier', 'worker', 'api']) {
        const pid = appPid(name);
        expect(pid).toBeDefined();
        process.kill(pid ?? -1, 'SIGKILL');
        const deadline = Date.now() + 60_000;
        while (!(appPid(name) !== undefined && appPid(name) !== pid && (await ready(ports[name])))) {
          if (Date.now() > deadline) throw new Error(`${name} did not come back:\n${system.output().slice(-3000)}`);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        expect(system.output()).toMatch(new RegExp(`\\[supervisor\\] ${name} was killed by SIGKILL; restarting it in`));
        orders.push(await createOrder());
      }
      expect(system.child.exitCode).toBeNull();

      // Every order created around the kills reached the topic.
      const kafka = createKafka({ brokers: [`127.0.0.1:${env['KAFKA_PORT']}`], clientId: 'lifecycle-test' });
      const consumer = kafka.consumer({ groupId: `lifecycle-${Date.now()}`, maxWaitTimeInMs: 100 });
      const seen = new Set<string>();
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: ['settle.order.events'], fromBeginning: true });
        await consumer.run({ eachMessage: async ({ message }) => void seen.add(String(message.key)) });
        const deadline = Date.now() + 60_000;
        while (!orders.every((id) => seen.has(id)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
      } finally {
        await consumer.disconnect();
      }
      expect(orders.filter((id) => !seen.has(id))).toEqual([]);
      system.child.kill('SIGTERM');
      await new Promise((resolve) => system.child.once('exit', resolve));
    },
    SYSTEM_TIMEOUT,
  );

  it(
    'as root, a data directory the postgres user cannot enter just works: Postgres keeps its data where it can reach it',
    async () => {
      if (os.userInfo().uid !== 0) return;
      const env = await systemEnvironment();
      const dir = env['SETTLE_DATA_DIR'] ?? '';
      await fs.chmod(dir, 0o700);
      const system = await startSystem(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], env);
      const moved = new RegExp(
        `postgres: data in (/var/lib/settle/[0-9a-f]{12}/postgres), because the postgres user cannot enter ${dir}`,
      ).exec(system.output());
      expect(moved).not.toBeNull();
      const postgres = descendants(system.child.pid ?? -1).filter((entry) => entry.command.includes(`-D ${moved?.[1] ?? ''}`));
      expect(postgres).toHaveLength(1);
      expect(system.output()).not.toMatch(/EACCES|Permission denied/);
      system.child.kill('SIGTERM');
      await new Promise((resolve) => system.child.once('exit', resolve));
      expect(await waitForExit(postgres[0]?.pid ?? -1, 30_000)).toBe(true);
      await fs.rm(path.dirname(moved?.[1] ?? '/nonexistent'), { recursive: true, force: true });
    },
    SYSTEM_TIMEOUT,
  );

  it(
    'a restart on the same data directory reuses Postgres data and Kafka storage',
    async () => {
      const env = await systemEnvironment();
      const first = await startSystem(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], env);
      expect(first.output()).toContain('formatting Kafka storage');
      expect(first.output()).toMatch(/migrations: applied/);
      const clusterId = await fs.readFile(path.join(first.dir, 'kafka', 'data', 'meta.properties'), 'utf8');
      first.child.kill('SIGTERM');
      await new Promise((resolve) => first.child.once('exit', resolve));

      const second = await startSystem(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], env);
      expect(second.output()).not.toContain('formatting Kafka storage');
      expect(second.output()).toContain('migrations: up to date');
      expect(await fs.readFile(path.join(first.dir, 'kafka', 'data', 'meta.properties'), 'utf8')).toBe(clusterId);
      second.child.kill('SIGTERM');
      await new Promise((resolve) => second.child.once('exit', resolve));
    },
    SYSTEM_TIMEOUT,
  );
});
