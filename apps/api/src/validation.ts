import { SettleError } from '@settle/domain';
import type { z } from '@settle/contracts';

/** Parses `value` with `schema`; failures become a 400 whose detail names every bad field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'path' | 'header'): z.infer<S> {
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
