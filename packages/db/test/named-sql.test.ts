import { describe, expect, it } from 'vitest';
import { bindSql, namedSql } from '../src/named-sql';

describe('namedSql', () => {
  it('numbers each name once, in order of first use, and leaves casts and string literals alone', () => {
    const statement = namedSql<'order_id' | 'kind' | 'version'>(
      'example',
      `SELECT :order_id::uuid, w.kind || ':' || w.id, '{"a":1}'::jsonb, 'it''s :not_a_param'
         FROM t WHERE id = :order_id AND kind = :kind AND v = :version::integer`,
    );
    expect(statement.name).toBe('settle_example');
    expect(statement.params).toEqual(['order_id', 'kind', 'version']);
    expect(statement.text).toBe(
      `SELECT $1::uuid, w.kind || ':' || w.id, '{"a":1}'::jsonb, 'it''s :not_a_param'
         FROM t WHERE id = $1 AND kind = $2 AND v = $3::integer`,
    );
  });

  it('binds values by name, null included; a missing one throws naming it', () => {
    const statement = namedSql<'a' | 'b'>('pair', 'SELECT :b, :a, :b');
    expect(bindSql(statement, { a: 1, b: null }).values).toEqual([null, 1]);
    expect(() => bindSql(statement, { a: 1 } as { a: number; b: unknown })).toThrow('settle_pair: no value for :b');
  });
});
