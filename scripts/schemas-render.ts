import fs from 'node:fs/promises';
import path from 'node:path';
import { EVENT_TYPES, eventJsonSchema, schemaName, type EventType } from '@settle/contracts';
import { repoRoot } from '@settle/config';
import { breakingChanges } from './schema-compat';

/** Where the published event schemas live. */
export const SCHEMAS_DIR = path.join(repoRoot, 'docs', 'schemas');

/** A schema file's exact text. */
export function renderSchema(schema: Record<string, unknown>): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/** The file name of an event type's current schema: `order.completed.v1.json`. */
export function schemaFile(type: EventType): string {
  return `${schemaName(type)}.json`;
}

/** Reads a published schema; undefined when that version was never published. */
export async function readPublished(dir: string, file: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, file), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Writes each schema to `<dir>/<name>.json`, refusing (before writing anything) a schema that would break
 * consumers of the version already published under the same name: that change needs a version bump, which
 * writes a new file beside the old one. Old versions are never deleted.
 */
export async function writeSchemas(dir: string, schemas: { file: string; schema: Record<string, unknown> }[]): Promise<string[]> {
  const refusals: string[] = [];
  for (const { file, schema } of schemas) {
    const published = await readPublished(dir, file);
    if (published === undefined) continue;
    const problems = await breakingChanges(published, schema);
    if (problems.length > 0)
      refusals.push(`${file}: breaking change without a version bump (EVENT_SCHEMA_VERSIONS):\n  ${problems.join('\n  ')}`);
  }
  if (refusals.length > 0) throw new Error(refusals.join('\n'));
  await fs.mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const { file, schema } of schemas) {
    const target = path.join(dir, file);
    const text = renderSchema(schema);
    const before = await fs.readFile(target, 'utf8').catch(() => undefined);
    if (before === text) continue;
    await fs.writeFile(target, text);
    written.push(file);
  }
  return written;
}

/** Every event type's current schema with its file name. */
export function currentSchemas(): { type: EventType; file: string; schema: Record<string, unknown> }[] {
  return EVENT_TYPES.map((type) => ({ type, file: schemaFile(type), schema: eventJsonSchema(type) }));
}
