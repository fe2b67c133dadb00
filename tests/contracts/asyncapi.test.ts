import fs from 'node:fs/promises';
import path from 'node:path';
import { Parser } from '@asyncapi/parser';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '@settle/config';
import { EVENT_TYPES, schemaName } from '@settle/contracts';
import { renderAsyncApi } from '../../scripts/asyncapi-render';
import { readPublished, SCHEMAS_DIR, schemaFile } from '../../scripts/schemas-render';

type Message = {
  headers: { properties: Record<string, { const?: string }>; required: string[] };
  payload: unknown;
  bindings?: { kafka?: { key?: unknown } };
};
interface Document {
  channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
  components: { messages: Record<string, Message>; schemas: Record<string, Record<string, unknown>> };
}

const read = () => fs.readFile(path.join(repoRoot, 'asyncapi.yaml'), 'utf8');

describe('asyncapi.yaml (the Kafka and socket contract)', () => {
  it('is current with the zod schemas (run `npm run asyncapi` after changing them)', async () => {
    expect(await read()).toBe(renderAsyncApi());
  });

  it('is a valid AsyncAPI 3 document for @asyncapi/parser', async () => {
    const { document, diagnostics } = await new Parser().parse(await read());
    expect(
      diagnostics
        .filter((diagnostic) => Number(diagnostic.severity) === 0)
        .map((diagnostic) => `${diagnostic.path.join('/')}: ${diagnostic.message}`),
    ).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
    expect(
      document
        ?.channels()
        .all()
        .map((channel) => channel.address())
        .sort(),
    ).toEqual(['book', 'notification', 'settle.order.events', 'settle.order.events.dlt']);
  });

  it("has one message per event type on the topic, keyed by order id, with the relay's headers and the published schema as payload", async () => {
    const document = parse(await read()) as Document;
    const refs = Object.values(document.channels['orderEvents']!.messages).map((ref) => ref.$ref.split('/').pop()!);
    expect(refs).toHaveLength(EVENT_TYPES.length);
    for (const type of EVENT_TYPES) {
      const id = schemaName(type).replaceAll('.', '_');
      const message = document.components.messages[id]!;
      expect(refs).toContain(id);
      expect(message.bindings?.kafka?.key).toMatchObject({ type: 'string', format: 'uuid' });
      expect(message.headers.properties['ce_type']?.const).toBe(`settle.${type}.v1`);
      expect(message.headers.required).toEqual(
        expect.arrayContaining([
          'id',
          'ce_specversion',
          'ce_id',
          'ce_type',
          'ce_dataschema',
          'ce_source',
          'ce_subject',
          'ce_time',
          'orderVersion',
          'orderNumber',
          'actorRole',
        ]),
      );
      expect(Object.keys(message.headers.properties)).toEqual(
        expect.arrayContaining(['commitLsn', 'settle-republished', 'settle-replay-of']),
      );
      const { $schema: _schema, $id: _id, ...published } = (await readPublished(SCHEMAS_DIR, schemaFile(type)))!;
      expect(document.components.schemas[id]).toEqual(published);
    }
    const deadLetter = document.components.messages['DeadLetter']!;
    expect(deadLetter.headers.required).toEqual(
      expect.arrayContaining([
        'dlt-original-topic',
        'dlt-original-partition',
        'dlt-original-offset',
        'dlt-original-timestamp',
        'dlt-original-consumer-group',
        'dlt-exception-class',
        'dlt-exception-message',
        'dlt-exception-stacktrace',
        'dlt-attempts',
      ]),
    );
    expect(Object.keys(deadLetter.headers.properties)).toEqual(expect.arrayContaining(['dlt-event-id', 'dlt-channel']));
    expect(document.components.messages['Notification']!.payload).toMatchObject({
      required: expect.arrayContaining(['seq', 'eventId', 'orderVersion']),
    });
    expect(document.components.messages['Book']!.payload).toMatchObject({
      required: expect.arrayContaining(['bookSeq', 'onBook', 'order']),
    });
  });
});
