/**
 * `npm run pack:consumer [-- --out <dir>]`: packs @settle/consumer for other teams, as the tarball `npm publish`
 * would upload (`<dir>/settle-consumer-<version>.tgz`, default packages/consumer/dist).
 *
 * In this repository the kit is TypeScript run from source, next to the private packages it uses (the event
 * schemas in @settle/contracts, the header names in @settle/kafka). The published package cannot depend on those,
 * so tsdown bundles them into one ES module with its declarations (`dist/package`), every other import stays an
 * import, and the manifest written beside it declares exactly the packages the bundle imports, at the ranges this
 * repository's manifests give them: kafkajs, pg and prom-client as peers (the service brings its own), the rest
 * as dependencies. The build fails if the bundle imports anything else.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { repoRoot } from '@settle/config';
import { defaultCacheDir } from '@settle/stack';

const KIT = path.join(repoRoot, 'packages/consumer');
const TSDOWN = '0.23.7';

/** The part of tsdown's API used here. */
interface Tsdown {
  build: (options: Record<string, unknown>) => Promise<unknown>;
}

/**
 * tsdown, installed once into the cache beside the Kafka jars rather than as a devDependency: its declaration
 * bundler pulls native parser bindings for every platform, and a lockfile that names them all cannot be written
 * against a registry mirror that holds only this platform's (npm ci would then refuse the lockfile everywhere).
 */
async function loadTsdown(): Promise<Tsdown> {
  const home = path.join(defaultCacheDir(), `tsdown-${TSDOWN}`);
  const marker = path.join(home, '.complete');
  if (
    !(await fs.access(marker).then(
      () => true,
      () => false,
    ))
  ) {
    await fs.mkdir(home, { recursive: true });
    const typescript = (
      JSON.parse(await fs.readFile(path.join(repoRoot, 'node_modules/typescript/package.json'), 'utf8')) as { version: string }
    ).version;
    execFileSync(
      'npm',
      ['install', '--prefix', home, '--no-audit', '--no-fund', '--loglevel=error', `tsdown@${TSDOWN}`, `typescript@${typescript}`],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    await fs.writeFile(marker, `${TSDOWN}\n`);
  }
  return (await import(pathToFileURL(path.join(home, 'node_modules/tsdown/dist/index.mjs')).href)) as Tsdown;
}

interface Manifest {
  name: string;
  version: string;
  description?: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const readManifest = async (dir: string): Promise<Manifest> =>
  JSON.parse(await fs.readFile(path.join(dir, 'package.json'), 'utf8')) as Manifest;

/** The range this repository declares for `name`: the kit's own manifest first, then the packages it bundles. */
async function declaredRanges(): Promise<Map<string, string>> {
  const ranges = new Map<string, string>();
  for (const dir of [KIT, ...['contracts', 'kafka', 'domain', 'config'].map((name) => path.join(repoRoot, 'packages', name)), repoRoot]) {
    const manifest = await readManifest(dir);
    for (const [name, range] of Object.entries({ ...manifest.devDependencies, ...manifest.dependencies, ...manifest.peerDependencies })) {
      if (!name.startsWith('@settle/') && !ranges.has(name)) ranges.set(name, range);
    }
  }
  return ranges;
}

/** The package names a built module imports (static and dynamic), node built-ins left out. */
function importedPackages(code: string): string[] {
  const specifiers = [
    ...code.matchAll(
      /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s*['"]([^'"]+)['"]/gm,
    ),
  ].map((match) => match[1] ?? match[2] ?? match[3] ?? '');
  const names = specifiers
    .filter((specifier) => specifier !== '' && !specifier.startsWith('.') && !specifier.startsWith('node:'))
    .map((specifier) =>
      specifier
        .split('/')
        .slice(0, specifier.startsWith('@') ? 2 : 1)
        .join('/'),
    );
  return [...new Set(names)].sort();
}

async function packConsumer(out: string): Promise<string> {
  const kit = await readManifest(KIT);
  const peers = kit.peerDependencies ?? {};
  const ranges = await declaredRanges();
  const staging = path.join(out, 'package');
  await fs.rm(staging, { recursive: true, force: true });
  const { build } = await loadTsdown();
  await build({
    config: false,
    cwd: KIT,
    entry: ['src/index.ts'],
    outDir: staging,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    dts: true,
    clean: true,
    logLevel: 'warn',
    // Every package import stays an import, except Settle's private packages, which are bundled; only packages
    // this repository declares a range for may be imported.
    deps: { neverBundle: true, alwaysBundle: [/^@settle\//], onlyImport: [...ranges.keys()] },
    // A package is not imported for its side effects alone: what the kit does not use from the bundled private
    // packages (the socket client, the money rules) leaves no bare import behind.
    treeshake: { moduleSideEffects: (_id: string, external: boolean) => !external },
    inputOptions: { checks: { pluginTimings: false } },
  });

  const files = await fs.readdir(staging);
  const imported = new Set<string>();
  for (const file of files.filter((name) => /\.(m?js|d\.m?ts)$/.test(name))) {
    for (const name of importedPackages(await fs.readFile(path.join(staging, file), 'utf8'))) imported.add(name);
  }
  const entry = files.find((name) => /^index\.m?js$/.test(name));
  const types = files.find((name) => /^index\.d\.m?ts$/.test(name));
  if (entry === undefined || types === undefined)
    throw new Error(`tsdown wrote no index module and declarations in ${staging}: ${files.join(', ')}`);
  const dependencies: Record<string, string> = {};
  for (const name of [...imported].sort()) {
    if (name in peers) continue;
    const range = ranges.get(name);
    if (range === undefined) throw new Error(`the bundle imports ${name}, which no manifest declares`);
    dependencies[name] = range;
  }
  const manifest = {
    name: kit.name,
    version: kit.version,
    description: kit.description,
    license: 'UNLICENSED',
    type: 'module',
    exports: { '.': { types: `./${types}`, default: `./${entry}` } },
    types: `./${types}`,
    files: [entry, types, 'README.md'],
    engines: { node: '>=20' },
    dependencies,
    peerDependencies: peers,
  };
  await fs.writeFile(path.join(staging, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await fs.copyFile(path.join(KIT, 'README.md'), path.join(staging, 'README.md'));
  const tarball = execFileSync('npm', ['pack', '--pack-destination', out, '--loglevel=error'], { cwd: staging, encoding: 'utf8' })
    .trim()
    .split('\n')
    .at(-1);
  if (tarball === undefined || tarball === '') throw new Error('npm pack printed no file name');
  return path.join(out, tarball);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const out = path.resolve(values.out ?? path.join(KIT, 'dist'));
  try {
    await fs.mkdir(out, { recursive: true });
    process.stdout.write(`${await packConsumer(out)}\n`);
  } catch (error) {
    process.stderr.write(`pack:consumer: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
