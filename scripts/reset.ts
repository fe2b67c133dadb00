/** `npm run reset`: deletes the local stack's state (SETTLE_DATA_DIR, default .settle/). */
import fs from 'node:fs/promises';
import { dataDir, loadConfig } from '@settle/config';
import { portInUse } from '@settle/stack';

const config = loadConfig();
const dir = dataDir(config);
if ((await portInUse(config.PG_PORT)) && config.DATABASE_URL === undefined) {
  process.stderr.write(`settle: something still listens on ${config.PG_PORT}; stop \`npm start\` before resetting ${dir}\n`);
  process.exit(1);
}
await fs.rm(dir, { recursive: true, force: true });
process.stdout.write(`removed ${dir}\n`);
