import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** A tool that is missing and could not be installed; the message is one line naming the package. */
export class ToolMissingError extends Error {}

export interface EnsureToolOptions {
  /** The executable, e.g. `promtool`. */
  command: string;
  /** The Debian package that provides it, e.g. `prometheus`. */
  aptPackage: string;
  /** Where to look. @default process.env.PATH */
  searchPath?: string;
  /** Whether apt-get may be run. @default the process runs as root */
  root?: boolean;
}

/** The absolute path of `command` on `searchPath`, or undefined. */
export function findOnPath(command: string, searchPath = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function aptGet(args: string[]): { ok: boolean; output: string } {
  const result = spawnSync('apt-get', args, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/**
 * Returns the path of `command`. When it is missing and we are root, installs `aptPackage` with apt-get (after an
 * `apt-get update` if the first attempt fails, e.g. on an image without package lists). Otherwise throws a
 * ToolMissingError whose one-line message names the package.
 */
export function ensureTool(options: EnsureToolOptions): string {
  const { command, aptPackage } = options;
  const found = findOnPath(command, options.searchPath);
  if (found !== undefined) return found;
  const hint = `${command} is not installed: install Debian's ${aptPackage} package (apt-get install -y ${aptPackage})`;
  const root = options.root ?? process.getuid?.() === 0;
  if (!root || findOnPath('apt-get', options.searchPath) === undefined) throw new ToolMissingError(hint);
  let install = aptGet(['install', '-y', '--no-install-recommends', aptPackage]);
  if (!install.ok) {
    aptGet(['update']);
    install = aptGet(['install', '-y', '--no-install-recommends', aptPackage]);
  }
  const installed = findOnPath(command, options.searchPath);
  if (!install.ok || installed === undefined) {
    const reason = install.output.trim().split('\n').at(-1) ?? 'no output';
    throw new ToolMissingError(`${hint}; apt-get failed: ${reason}`);
  }
  return installed;
}

// `node --import tsx scripts/ensure-tool.ts promtool prometheus` prints the tool's path or one line and exit 1.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [command, aptPackage] = process.argv.slice(2);
  if (command === undefined || aptPackage === undefined) {
    process.stderr.write('usage: ensure-tool <command> <debian-package>\n');
    process.exit(2);
  }
  try {
    process.stdout.write(`${ensureTool({ command, aptPackage })}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
