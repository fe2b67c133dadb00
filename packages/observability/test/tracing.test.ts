import { describe, expect, it } from 'vitest';
import { formatTraceparent, idOnlyTracing, parseTraceparent, startTracing, traceIdOf } from '../src/tracing';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

describe('W3C traceparent', () => {
  it('parses a valid traceparent and refuses malformed ones', () => {
    expect(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-01`)).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 });
    for (const bad of [
      undefined,
      42,
      '',
      'garbage',
      `00-${'0'.repeat(32)}-${SPAN_ID}-01`,
      `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
      `ff-${TRACE_ID}-${SPAN_ID}-01`,
      `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`,
      `00-${TRACE_ID}-${SPAN_ID}-01-${'x'.repeat(600)}`,
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
    expect(traceIdOf(`00-${TRACE_ID}-${SPAN_ID}-00`)).toBe(TRACE_ID);
    expect(formatTraceparent(TRACE_ID, SPAN_ID, 1)).toBe(`00-${TRACE_ID}-${SPAN_ID}-01`);
  });

  it('ids only: a span continues its parent trace under a new span id, keeping its flags', () => {
    const span = idOnlyTracing.startSpan('x', { parent: `00-${TRACE_ID}-${SPAN_ID}-00` });
    const parsed = parseTraceparent(span.traceparent);
    expect(parsed).toMatchObject({ traceId: TRACE_ID, traceFlags: 0 });
    expect(parsed?.spanId).not.toBe(SPAN_ID);
    expect(span.traceId).toBe(TRACE_ID);
  });

  it('ids only: without a valid parent a span starts a new sampled trace, a different one each time', () => {
    const first = idOnlyTracing.startSpan('x', { parent: 'not a traceparent' });
    const second = idOnlyTracing.startSpan('x');
    expect(parseTraceparent(first.traceparent)?.traceFlags).toBe(1);
    expect(first.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(first.traceId).not.toBe(second.traceId);
  });

  it('OTEL_TRACES_EXPORTER=none (the default) records nothing; otlp records spans that continue the parent', async () => {
    expect(await startTracing({ OTEL_TRACES_EXPORTER: 'none' }, 'test')).toBe(idOnlyTracing);
    const tracing = await startTracing({ OTEL_TRACES_EXPORTER: 'otlp' }, 'test');
    try {
      expect(tracing.enabled).toBe(true);
      const span = tracing.startSpan('x', { parent: `00-${TRACE_ID}-${SPAN_ID}-01`, kind: 'server' });
      expect(span.traceId).toBe(TRACE_ID);
      expect(parseTraceparent(span.traceparent)).toMatchObject({ traceId: TRACE_ID, traceFlags: 1 });
      expect(parseTraceparent(span.traceparent)?.spanId).not.toBe(SPAN_ID);
      span.end();
      // A parent that was not sampled is not sampled here either (parent-based sampler).
      expect(parseTraceparent(tracing.startSpan('y', { parent: `00-${TRACE_ID}-${SPAN_ID}-00` }).traceparent)?.traceFlags).toBe(0);
    } finally {
      // Nothing listens on the default endpoint: the shutdown's export fails quietly and must not throw.
      await tracing.shutdown();
    }
  });
});
