import { describe, expect, it } from 'vitest';
import { ConsumerFailure, dispositionOf, PermanentFailure, RetryableFailure } from '../src/failures';

describe('the consumer failure taxonomy', () => {
  it('reads the disposition an error was raised with, and treats anything unclassified as retryable', () => {
    expect(dispositionOf(new PermanentFailure('the ledger has no such merchant'))).toBe('permanent');
    expect(dispositionOf(new RetryableFailure('the ledger is down'))).toBe('retryable');
    expect(dispositionOf(new ConsumerFailure('permanent', 'raised with its disposition'))).toBe('permanent');
    class LedgerRefused extends PermanentFailure {
      override name = 'LedgerRefused';
    }
    expect(dispositionOf(new LedgerRefused('subclasses keep it'))).toBe('permanent');
    for (const unclassified of [
      new Error('ECONNREFUSED'),
      new TypeError('x is undefined'),
      'a string',
      undefined,
      { disposition: 'permanent' },
    ])
      expect(dispositionOf(unclassified)).toBe('retryable');
  });

  it('keeps the cause', () => {
    const cause = new Error('socket hang up');
    expect(new RetryableFailure('the ledger did not answer', { cause }).cause).toBe(cause);
  });
});
