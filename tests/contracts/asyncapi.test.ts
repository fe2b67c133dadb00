import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '@settle/config';
import { renderAsyncApi } from '../../scripts/asyncapi-render';

describe('asyncapi.yaml (the Kafka contract)', () => {
  it('is current with the zod schemas (run `npm run asyncapi` after changing them)', async () => {
    expect(await fs.readFile(path.join(repoRoot, 'asyncapi.yaml'), 'utf8')).toBe(renderAsyncApi());
  });

  it('documents the topic, the required event fields and the relay headers', async () => {
    const text = await fs.readFile(path.join(repoRoot, 'asyncapi.yaml'), 'utf8');
    expect(text).toContain('address: settle.order.events\n');
    expect(text).toContain('address: settle.order.events.dlt\n');
    for (const header of ['ce_id', 'ce_type', 'ce_source', 'ce_specversion', 'ce_time', 'ce_subject', 'orderVersion', 'commitLsn', 'dlt-original-topic', 'dlt-attempts']) {
      expect(text).toContain(`${header}:`);
    }
    const document = parse(text) as { components: { messages: { OrderEvent: { payload: { required: string[]; properties: Record<string, unknown> } } } } };
    const payload = document.components.messages.OrderEvent.payload;
    expect(payload.required).toEqual(expect.arrayContaining(['eventId', 'type', 'orderId', 'orderNumber', 'orderVersion', 'status', 'minimalStatus', 'previousStatus', 'actor', 'occurredAt', 'order']));
    expect(payload.properties['type']).toMatchObject({ enum: expect.arrayContaining(['order.created', 'order.completed', 'order.dispute_resolved']) });
  });
});
