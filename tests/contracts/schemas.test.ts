import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EVENT_TYPES, eventJsonSchema, orderEventSchemas, z } from '@settle/contracts';
import { breakingChanges } from '../../scripts/schema-compat';
import { currentSchemas, readPublished, renderSchema, SCHEMAS_DIR, schemaFile, writeSchemas } from '../../scripts/schemas-render';

const published = (type: (typeof EVENT_TYPES)[number]) => readPublished(SCHEMAS_DIR, schemaFile(type));
const asJsonSchema = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { target: 'draft-7', unrepresentable: 'any', io: 'output' }) as Record<string, unknown>;
const completed = orderEventSchemas['order.completed'];
const fixtureDirs: string[] = [];

afterAll(async () => {
  await Promise.all(fixtureDirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

describe('published event schemas (docs/schemas)', () => {
  it('has one current file per event type (run `npm run schemas` after changing the zod schemas)', async () => {
    for (const { file, schema } of currentSchemas()) {
      expect(await fs.readFile(path.join(SCHEMAS_DIR, file), 'utf8'), file).toBe(renderSchema(schema));
    }
  });

  it('no current schema breaks a consumer of its published version', async () => {
    for (const type of EVENT_TYPES) {
      const file = await published(type);
      expect(file, type).toBeDefined();
      expect(await breakingChanges(file!, eventJsonSchema(type)), type).toEqual([]);
    }
  });
});

describe('the compatibility check, on a copy of order.completed.v1', () => {
  it('passes an additive change: a new optional field', async () => {
    const base = (await published('order.completed'))!;
    expect(await breakingChanges(base, asJsonSchema(completed.extend({ settlementNote: z.string().optional() })))).toEqual([]);
  });

  it.each([
    ['a removed field', completed.omit({ orderNumber: true })],
    ['a renamed field', completed.omit({ orderNumber: true }).extend({ orderNo: z.string() })],
    ['a narrowed type', completed.extend({ orderNumber: z.number() })],
    ['a new required field', completed.extend({ settlementNote: z.string() })],
    ['an enum narrowed', completed.extend({ minimalStatus: z.enum(['completed']) })],
  ])('fails on %s', async (_what, changed) => {
    const base = (await published('order.completed'))!;
    expect((await breakingChanges(base, asJsonSchema(changed))).length).toBeGreaterThan(0);
  });

  it('`npm run schemas` refuses a breaking change under the same version and writes a bumped one beside it', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'settle-schemas-'));
    fixtureDirs.push(dir);
    const v1 = renderSchema(eventJsonSchema('order.completed'));
    await fs.writeFile(path.join(dir, 'order.completed.v1.json'), v1);
    const breaking = asJsonSchema(completed.omit({ orderNumber: true }));
    await expect(writeSchemas(dir, [{ file: 'order.completed.v1.json', schema: breaking }])).rejects.toThrow(
      /breaking change without a version bump/,
    );
    expect(await fs.readFile(path.join(dir, 'order.completed.v1.json'), 'utf8')).toBe(v1);

    expect(await writeSchemas(dir, [{ file: 'order.completed.v2.json', schema: breaking }])).toEqual(['order.completed.v2.json']);
    expect((await fs.readdir(dir)).sort()).toEqual(['order.completed.v1.json', 'order.completed.v2.json']);

    const additive = asJsonSchema(completed.extend({ settlementNote: z.string().optional() }));
    expect(await writeSchemas(dir, [{ file: 'order.completed.v1.json', schema: additive }])).toEqual(['order.completed.v1.json']);
  });
});
