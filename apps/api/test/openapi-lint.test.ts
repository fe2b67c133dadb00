import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '@settle/config';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../src/openapi';

type Operation = {
  operationId?: string;
  security?: unknown[];
  responses: Record<string, unknown>;
  parameters?: Array<{ in: string; name: string; required?: boolean }>;
};
const document = openApiDocument({ devAuth: true }) as unknown as { paths: Record<string, Record<string, Operation>> };
const operations = Object.entries(document.paths).flatMap(([route, methods]) =>
  Object.entries(methods).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${route}`, operation })),
);
const redocly = path.join(path.dirname(createRequire(import.meta.url).resolve('@redocly/cli/package.json')), 'bin/cli.js');

describe('the OpenAPI document', () => {
  it('passes redocly lint (redocly.yaml) with no errors and no warnings', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'settle-openapi-'));
    try {
      const file = path.join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(document));
      const lint = spawnSync(
        process.execPath,
        [redocly, 'lint', file, '--config', path.join(repoRoot, 'redocly.yaml'), '--format', 'json'],
        {
          encoding: 'utf8',
          env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
          timeout: 120_000,
        },
      );
      const report = JSON.parse(lint.stdout.slice(lint.stdout.indexOf('{'))) as {
        totals: { errors: number; warnings: number };
        problems: Array<{ ruleId: string; message: string }>;
      };
      expect({
        status: lint.status,
        totals: report.totals,
        problems: report.problems.map((problem) => `${problem.ruleId}: ${problem.message}`),
      }).toEqual({ status: 0, totals: expect.objectContaining({ errors: 0, warnings: 0 }) as unknown, problems: [] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names every operation uniquely and documents 400 and 500 on each', () => {
    const ids = operations.map(({ operation }) => operation.operationId);
    expect(ids.every((id) => typeof id === 'string')).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { name, operation } of operations)
      expect({ name, codes: Object.keys(operation.responses) }).toEqual({ name, codes: expect.arrayContaining(['400', '500']) as unknown });
  });

  it('documents the public routes with security: [] and every other route with the bearer scheme', () => {
    const open = operations
      .filter(({ operation }) => Array.isArray(operation.security) && operation.security.length === 0)
      .map(({ name }) => name);
    expect(open.sort()).toEqual([
      'GET /desk/config',
      'GET /docs',
      'GET /health',
      'GET /metrics',
      'GET /openapi.json',
      'GET /ready',
      'GET /schemas',
      'GET /schemas/{file}',
      'POST /v1/dev/tokens',
    ]);
    for (const { name, operation } of operations.filter(({ name: n }) => !open.includes(n))) {
      expect({ name, security: operation.security }).toEqual({ name, security: [{ bearer: [] }] });
      expect({ name, codes: Object.keys(operation.responses) }).toEqual({
        name,
        codes: expect.arrayContaining(['401', '429', '503']) as unknown,
      });
    }
  });

  it('requires Idempotency-Key exactly on release, force-cancel and force-complete; every transition documents 409, 412 and 422', () => {
    const keyed = operations
      .filter(({ operation }) =>
        operation.parameters?.some(
          (parameter) => parameter.in === 'header' && parameter.name === 'idempotency-key' && parameter.required === true,
        ),
      )
      .map(({ name }) => name);
    expect(keyed.sort()).toEqual([
      'POST /v1/orders/{id}/force-cancel',
      'POST /v1/orders/{id}/force-complete',
      'POST /v1/orders/{id}/release',
    ]);
    for (const { name, operation } of operations.filter(({ name: n }) => /^POST \/v1\/orders\/\{id\}\//.test(n))) {
      expect({ name, codes: Object.keys(operation.responses) }).toEqual({
        name,
        codes: expect.arrayContaining(['409', '412', '413', '415', '422']) as unknown,
      });
    }
  });
});
