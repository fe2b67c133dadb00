/** `npm run schemas`: writes docs/schemas/<type>.v<n>.json from the zod schemas, refusing unversioned breaking changes. */
import { currentSchemas, SCHEMAS_DIR, writeSchemas } from './schemas-render';

try {
  const written = await writeSchemas(SCHEMAS_DIR, currentSchemas());
  process.stdout.write(
    written.length === 0 ? 'docs/schemas is current\n' : `wrote ${written.map((file) => `docs/schemas/${file}`).join(', ')}\n`,
  );
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
}
