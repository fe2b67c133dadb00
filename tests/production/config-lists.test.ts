import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, localStack } from '@settle/config';

describe('comma-separated settings', () => {
  it('parse KAFKA_BROKERS once, trimmed, for every app', () => {
    expect(loadConfig({ KAFKA_BROKERS: ' kafka-1:9092 , kafka-2:9092,,[::1]:19092 ' }).KAFKA_BROKERS).toEqual([
      'kafka-1:9092',
      'kafka-2:9092',
      '[::1]:19092',
    ]);
    expect(loadConfig({ KAFKA_BROKERS: ' , ' }).KAFKA_BROKERS).toBeUndefined();
    expect(localStack(loadConfig({ KAFKA_PORT: '19999' })).kafkaBrokers).toEqual(['127.0.0.1:19999']);
    expect(localStack(loadConfig({ KAFKA_BROKERS: 'a:1,b:2' })).kafkaBrokers).toEqual(['a:1', 'b:2']);
  });

  it('refuse an entry that is not host:port, naming the variable', () => {
    for (const text of ['kafka', 'kafka:port', 'kafka:9092 kafka2:9092', 'http://kafka:9092']) {
      expect(() => loadConfig({ KAFKA_BROKERS: text }), text).toThrow(ConfigError);
      expect(() => loadConfig({ KAFKA_BROKERS: text }), text).toThrow(/KAFKA_BROKERS lists host:port pairs separated by commas/);
    }
  });

  it('keep the other lists as they were: hosts lower-cased, origins normalised, currencies required', () => {
    expect(loadConfig({ WEBHOOK_ALLOWED_HOSTS: 'LocalHost, 10.0.0.0/8' }).WEBHOOK_ALLOWED_HOSTS).toEqual(['localhost', '10.0.0.0/8']);
    expect(loadConfig({}).WEBHOOK_ALLOWED_HOSTS).toEqual([]);
    expect(
      loadConfig({ NOTIFIER_ALLOWED_ORIGINS: 'https://desk.example.com/path, http://localhost:5173' }).NOTIFIER_ALLOWED_ORIGINS,
    ).toEqual(['https://desk.example.com', 'http://localhost:5173']);
    expect(loadConfig({}).NOTIFIER_ALLOWED_ORIGINS).toEqual(['http://localhost:3000', 'http://127.0.0.1:3000']);
    expect(loadConfig({}).CRYPTO_CURRENCIES).toEqual(['USDT', 'USDC']);
    expect(() => loadConfig({ CRYPTO_CURRENCIES: ' , ' })).toThrow(/CRYPTO_CURRENCIES names at least one currency/);
    expect(() => loadConfig({ CRYPTO_CURRENCIES: 'usdt' })).toThrow(/CRYPTO_CURRENCIES holds upper-case codes/);
  });
});
