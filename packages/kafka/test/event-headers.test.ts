import { describe, expect, it } from 'vitest';
import { eventHeaders, traceparentOf } from '../src';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const source = (extra: Record<string, string>) => ({
  id: 'e1',
  aggregatetype: 'order',
  aggregateid: 'o1',
  type: 'order.created',
  createdAt: new Date('2026-12-02T10:00:00Z'),
  orderVersion: 1,
  commitLsn: null,
  extra,
});

describe('event headers: CloudEvents distributed tracing', () => {
  it("sends the row's valid traceparent as ce_traceparent (and keeps the plain header), with its tracestate", () => {
    const headers = eventHeaders(source({ traceparent: TRACEPARENT, tracestate: 'vendor=1' }));
    expect(headers).toMatchObject({ ce_traceparent: TRACEPARENT, ce_tracestate: 'vendor=1', traceparent: TRACEPARENT });
    expect(traceparentOf(headers)).toBe(TRACEPARENT);
  });

  it('leaves ce_traceparent out for a missing or malformed traceparent; a row cannot set ce_* itself', () => {
    for (const extra of [{}, { traceparent: '00-abc' }, { traceparent: TRACEPARENT.toUpperCase() }, { ce_traceparent: TRACEPARENT }]) {
      const headers = eventHeaders(source(extra));
      expect(headers['ce_traceparent']).toBeUndefined();
      expect(headers['ce_tracestate']).toBeUndefined();
    }
    expect(traceparentOf({ traceparent: '00-abc' })).toBeUndefined();
    expect(traceparentOf(undefined)).toBeUndefined();
  });

  it('reads ce_traceparent before a plain traceparent header, from Buffers as kafkajs hands them over', () => {
    const other = '00-11111111111111111111111111111111-2222222222222222-00';
    expect(traceparentOf({ ce_traceparent: Buffer.from(TRACEPARENT), traceparent: Buffer.from(other) })).toBe(TRACEPARENT);
    expect(traceparentOf({ traceparent: Buffer.from(other) })).toBe(other);
  });
});
