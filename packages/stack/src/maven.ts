import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StackError } from './errors';
import { commandExists } from './processes';

export interface MavenJarsOptions {
  /** The pom.xml whose runtime dependencies are fetched (a `<packaging>pom</packaging>` project that builds nothing). */
  pom: string;
  /** Prefix of the cache directory, `<name>-libs-<hash of the pom>`. */
  name: string;
  /** The jars as progress lines and errors name them, e.g. 'the Kafka broker jars'. */
  jars: string;
  /** What to do instead when mvn is missing, appended to the error. */
  withoutMaven?: string;
  /** @default ~/.cache/settle */
  cacheDir?: string | undefined;
  onProgress?: ((message: string) => void) | undefined;
}

/** The cache directory shared by `npm start`, tests and benches. @default ~/.cache/settle */
export function defaultCacheDir(): string {
  return path.join(os.homedir(), '.cache', 'settle');
}

/**
 * Copies the runtime dependencies of `pom` from Maven Central into the cache once (keyed by the pom's hash, so
 * editing the pom fetches again) and returns the directory that holds the jars: `java -cp '<dir>/*'` runs them.
 */
export async function ensureMavenJars(options: MavenJarsOptions): Promise<string> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const hash = createHash('sha256')
    .update(await fs.readFile(options.pom))
    .digest('hex')
    .slice(0, 12);
  const libs = path.join(cacheDir, `${options.name}-libs-${hash}`);
  if (await exists(path.join(libs, '.complete'))) return libs;

  if (!commandExists('mvn', ['-v'])) {
    const instead = options.withoutMaven === undefined ? '' : ` or ${options.withoutMaven}`;
    throw new StackError(`Maven (mvn) is needed once to fetch ${options.jars}: install it (e.g. \`apt-get install maven\`)${instead}`);
  }
  options.onProgress?.(`fetching ${options.jars} from Maven Central (first run only)…`);
  // Fetched into a staging directory and renamed, so an interrupted fetch is never taken for a complete one.
  const staging = `${libs}.tmp-${process.pid}`;
  await fs.rm(staging, { recursive: true, force: true });
  const result = spawnSync(
    'mvn',
    ['-B', '-q', '-f', options.pom, 'dependency:copy-dependencies', `-DoutputDirectory=${staging}`, '-DincludeScope=runtime'],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) {
    const reason = `${result.stdout}\n${result.stderr}`.split('\n').find((line) => line.includes('ERROR')) ?? `exit ${result.status}`;
    throw new StackError(`mvn could not fetch ${options.jars}: ${reason.trim()}`);
  }
  await fs.writeFile(path.join(staging, '.complete'), new Date().toISOString());
  await fs.rm(libs, { recursive: true, force: true });
  await fs.rename(staging, libs);
  return libs;
}

/** True when `file` exists. */
export async function exists(file: string): Promise<boolean> {
  return fs
    .access(file)
    .then(() => true)
    .catch(() => false);
}
