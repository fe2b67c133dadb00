import { SettleError } from '@settle/domain';
import type { z } from '@settle/contracts';

/** Parses `value` with `schema`; failures become a 400 whose detail names every bad field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'path' | 'header'): z.infer<S> {
  // Postgres text and jsonb cannot hold NUL; refuse it here rather than fail the write later.
  if (JSON.stringify(value)?.includes('\\u0000')) throw new SettleError('INVALID_INPUT', `${where}: text may not contain the NUL character (\\u0000)`);
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => {
    const path = issue.path.length === 0 ? where : `${where}.${issue.path.map(String).join('.')}`;
    const message = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message;
    return { path, message };
  });
  const detail = errors.map((error) => `${error.path}: ${error.message}`).join('; ');
  throw new SettleError('INVALID_INPUT', detail, { extra: { errors } });
}
