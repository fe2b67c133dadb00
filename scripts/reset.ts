/** `npm run reset`: deletes the local stack's state (SETTLE_DATA_DIR, default .settle/). */
import fs from 'node:fs/promises';
import path from 'node:path';
import { dataDir, loadConfig } from '@settle/config';
import { portInUse, postgresDataDir } from '@settle/stack';

const config = loadConfig();
const dir = dataDir(config);
if ((await portInUse(config.PG_PORT)) && config.DATABASE_URL === undefined) {
  process.stderr.write(`settle: something still listens on ${config.PG_PORT}; stop \`npm start\` before resetting ${dir}\n`);
  process.exit(1);
}
// As root with a checkout the postgres user cannot enter, Postgres keeps its data outside it (see postgresDataDir).
const postgres = await postgresDataDir(dir);
await fs.rm(dir, { recursive: true, force: true });
if (postgres.movedBecause !== undefined) await fs.rm(path.dirname(postgres.dir), { recursive: true, force: true });
process.stdout.write(`removed ${dir}${postgres.movedBecause !== undefined ? ` and ${path.dirname(postgres.dir)}` : ''}\n`);
