import jsonSchemaDiff from 'json-schema-diff';

type Json = Record<string, unknown>;

/**
 * What an existing consumer of `published` could no longer read if producers switched to `current`: values the
 * published schema accepts and the current one rejects (a field removed or renamed, a type narrowed, a new required
 * field), as found by json-schema-diff, plus enum/const values dropped, which json-schema-diff does not compare
 * (KEYWORDS.md: enum and const unsupported). Empty when the change is additive.
 */
export async function breakingChanges(published: Json, current: Json): Promise<string[]> {
  const problems: string[] = [];
  const diff = await jsonSchemaDiff.diffSchemas({ sourceSchema: withoutMeta(published), destinationSchema: withoutMeta(current) });
  if (diff.removalsFound) problems.push(`values the published schema accepts are now rejected: ${JSON.stringify(diff.removedJsonSchema)}`);
  problems.push(...droppedEnumValues(published, current, ''));
  return problems;
}

// $id/$schema/title name the document, they do not constrain values.
function withoutMeta(schema: Json): Json {
  const { $id: _id, $schema: _schema, title: _title, description: _description, ...rest } = schema;
  return rest;
}

function droppedEnumValues(published: unknown, current: unknown, path: string): string[] {
  if (!isObject(published)) return [];
  const now = isObject(current) ? current : {};
  const problems: string[] = [];
  const allowed = (node: Json): unknown[] | undefined =>
    Array.isArray(node['enum']) ? node['enum'] : 'const' in node ? [node['const']] : undefined;
  const before = allowed(published);
  const after = allowed(now);
  if (before !== undefined && after !== undefined) {
    const dropped = before.filter((value) => !after.some((other) => JSON.stringify(other) === JSON.stringify(value)));
    if (dropped.length > 0) problems.push(`${path || '/'}: ${JSON.stringify(dropped)} no longer allowed`);
  }
  for (const key of ['properties', 'definitions', '$defs']) {
    const children = published[key];
    if (!isObject(children)) continue;
    const nowChildren = isObject(now[key]) ? now[key] : {};
    for (const [name, child] of Object.entries(children)) problems.push(...droppedEnumValues(child, nowChildren[name], `${path}/${name}`));
  }
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    const branches = published[key];
    const nowBranches = now[key];
    if (!Array.isArray(branches)) continue;
    branches.forEach((branch, index) =>
      problems.push(...droppedEnumValues(branch, Array.isArray(nowBranches) ? nowBranches[index] : undefined, `${path}/${key}/${index}`)),
    );
  }
  if ('items' in published) problems.push(...droppedEnumValues(published['items'], now['items'], `${path}/items`));
  return problems;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
