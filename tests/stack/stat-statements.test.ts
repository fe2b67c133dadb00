import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freePort, startEmbeddedPostgres } from '@settle/stack';

describe('embedded Postgres with PG_STAT_STATEMENTS', () => {
  it('loads pg_stat_statements with planning times, and records the statements run', async () => {
    const server = await startEmbeddedPostgres({ port: await freePort(), statStatements: true });
    const client = new pg.Client({ connectionString: server.url });
    try {
      await client.connect();
      expect(
        (await client.query<{ shared_preload_libraries: string }>('SHOW shared_preload_libraries')).rows[0]?.shared_preload_libraries,
      ).toContain('pg_stat_statements');
      await client.query('CREATE EXTENSION pg_stat_statements');
      await client.query('SELECT count(*) FROM pg_class WHERE relname = $1', ['settle_stat_probe']);
      const recorded = await client.query<{ calls: string; planned: boolean }>(
        `SELECT calls, total_plan_time > 0 AS planned FROM pg_stat_statements WHERE query LIKE 'SELECT count(*) FROM pg_class WHERE relname = $1'`,
      );
      expect(recorded.rows).toEqual([{ calls: '1', planned: true }]);
    } finally {
      await client.end();
      await server.stop();
    }
  });
});
