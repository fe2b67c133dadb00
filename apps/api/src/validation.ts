import { SettleError } from '@settle/domain';
import { isWellFormedText, type z } from '@settle/contracts';

/** How deep a request's JSON may nest. The deepest request this API takes (a create's paymentDetails) nests 2. */
export const MAX_JSON_DEPTH = 16;

type Where = 'body' | 'query' | 'path' | 'header';

const pathOf = (where: Where, keys: readonly (string | number)[]): string => [where, ...keys].join('.');

/** `keys` locate the text; a field name is reported by its parent's path, so the bad text is not echoed back. */
function checkText(text: string, where: Where, keys: readonly (string | number)[], fieldName = false): void {
  const what = fieldName ? `a field name in ${pathOf(where, keys)}` : pathOf(where, keys);
  // Postgres text and jsonb hold neither NUL nor a lone UTF-16 surrogate: refuse them here rather than fail the write.
  if (text.includes('\u0000')) throw new SettleError('INVALID_INPUT', `${what}: text may not contain the NUL character (\\u0000)`);
  if (!isWellFormedText(text)) {
    throw new SettleError(
      'INVALID_INPUT',
      `${what}: text must be well-formed Unicode; a lone UTF-16 surrogate (such as \\ud800) is not a character`,
    );
  }
}

/**
 * Checks a decoded request value before anything recursive (zod, JSON.stringify, pino) touches it: at most
 * MAX_JSON_DEPTH levels of objects and arrays, and every string and key free of NUL and lone surrogates.
 * Iterative, so a body nested thousands of levels deep costs a loop, not the stack.
 */
export function checkInput(value: unknown, where: Where): void {
  const pending: Array<{ value: unknown; keys: readonly (string | number)[] }> = [{ value, keys: [] }];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const { value: current, keys } = item;
    if (typeof current === 'string') {
      checkText(current, where, keys);
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (keys.length >= MAX_JSON_DEPTH) {
      throw new SettleError(
        'INVALID_INPUT',
        `${where}: JSON may nest at most ${MAX_JSON_DEPTH} levels of objects and arrays (${pathOf(where, keys.slice(0, 3))}… goes deeper)`,
      );
    }
    if (Array.isArray(current)) {
      current.forEach((element: unknown, index) => pending.push({ value: element, keys: [...keys, index] }));
      continue;
    }
    for (const [key, element] of Object.entries(current)) {
      checkText(key, where, keys, true);
      pending.push({ value: element, keys: [...keys, key] });
    }
  }
}

/** Parses `value` with `schema`; failures become a 400 whose detail names every bad field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where: Where): z.infer<S> {
  checkInput(value, where);
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
