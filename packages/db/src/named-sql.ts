/**
 * SQL written with `:name` placeholders, compiled once to Postgres's `$1 … $n` (a name used twice is one parameter),
 * so a statement reads as the SQL it is and its parameters are bound by name, not by counting positions. `::type`
 * casts and `:` inside string literals are left alone.
 */
export interface NamedSql<P extends string = string> {
  /** The prepared statement's name (`settle_<name>`): each pooled connection parses it once. */
  name: string;
  text: string;
  /** The parameter names in `$n` order. */
  params: readonly P[];
}

const PLACEHOLDER = /'(?:[^']|'')*'|::|:([A-Za-z_][A-Za-z0-9_]*)/g;

export function namedSql<P extends string = string>(name: string, source: string): NamedSql<P> {
  const params: P[] = [];
  const text = source.replace(PLACEHOLDER, (match: string, param: string | undefined) => {
    if (param === undefined) return match;
    let index = params.indexOf(param as P);
    if (index === -1) index = params.push(param as P) - 1;
    return `$${index + 1}`;
  });
  return { name: `settle_${name}`, text, params };
}

/** The query of `statement` with `values`; a parameter without a value is a programming error, thrown at once. */
export function bindSql<P extends string>(
  statement: NamedSql<P>,
  values: Readonly<Record<P, unknown>>,
): { name: string; text: string; values: unknown[] } {
  return {
    name: statement.name,
    text: statement.text,
    values: statement.params.map((param) => {
      const value = values[param];
      if (value === undefined) throw new Error(`${statement.name}: no value for :${param}`);
      return value;
    }),
  };
}
