import { describe, expect, it } from 'vitest';
import { dispositionOf } from '@settle/kafka';
import { PermanentEventError, retriesExhausted, webhookFailure } from '../src/errors';

const url = 'https://merchant.example/hooks';

describe('notifier failures are classified where they are raised', () => {
  it('a 2xx is no failure; no answer, 408, 429 and 5xx are retryable; other statuses and refused hosts are permanent', () => {
    for (const statusCode of [200, 202, 204]) expect(webhookFailure(url, { statusCode, error: null })).toBeUndefined();
    for (const [statusCode, error] of [
      [null, 'timed out after 5000 ms'],
      [408, 'HTTP 408'],
      [429, 'HTTP 429'],
      [500, 'HTTP 500'],
      [503, 'HTTP 503'],
    ] as const) {
      const failure = webhookFailure(url, { statusCode, error });
      expect(failure?.name, String(statusCode)).toBe('WebhookUnavailableError');
      expect(dispositionOf(failure)).toBe('retryable');
      expect(failure?.message).toBe(`${url} did not accept the delivery (${error})`);
    }
    for (const statusCode of [400, 401, 404, 410, 422]) {
      const failure = webhookFailure(url, { statusCode, error: `HTTP ${statusCode}` });
      expect(failure?.name).toBe('WebhookRejectedError');
      expect(dispositionOf(failure)).toBe('permanent');
      expect(failure?.message).toBe(`${url} rejected the delivery with HTTP ${statusCode}`);
    }
    const refused = webhookFailure(url, {
      statusCode: null,
      error: 'x',
      refused: 'merchant.example resolves to 10.0.0.7, a private address',
    });
    expect(refused?.name).toBe('WebhookDestinationRefusedError');
    expect(dispositionOf(refused)).toBe('permanent');
  });

  it('a retryable failure out of attempts becomes a permanent one naming the attempts and the last answer', () => {
    const exhausted = retriesExhausted(url, 8, { statusCode: 503, error: 'HTTP 503' });
    expect(exhausted.name).toBe('WebhookRetriesExhaustedError');
    expect(dispositionOf(exhausted)).toBe('permanent');
    expect(exhausted.message).toBe(`${url} did not accept the delivery after 8 attempts (last: HTTP 503)`);
  });

  it('an event that can never be processed is permanent under its own name', () => {
    const error = new PermanentEventError('UnknownEventTypeError', 'unknown event type "order.teleported"');
    expect(error.name).toBe('UnknownEventTypeError');
    expect(dispositionOf(error)).toBe('permanent');
  });
});
