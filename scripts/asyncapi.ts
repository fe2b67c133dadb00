/** `npm run asyncapi`: regenerates asyncapi.yaml (the Kafka contract) from the zod schemas. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '@settle/config';
import { renderAsyncApi } from './asyncapi-render';

await fs.writeFile(path.join(repoRoot, 'asyncapi.yaml'), renderAsyncApi());
process.stdout.write('wrote asyncapi.yaml\n');
