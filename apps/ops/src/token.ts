import fs from 'node:fs';
import { signToken } from '@settle/auth';
import { localStack } from '@settle/config';
import { ROLES, type Role } from '@settle/domain';
import { Option, type Command } from 'commander';
import { positiveInt } from './arguments';
import type { CommandDeps } from './command-deps';

/** `settle-ops token --role <role> --id <id> [--ttl seconds]`: a dev JWT signed with the API's HS256 secret. */
export function registerTokenCommand(program: Command, deps: CommandDeps): void {
  program
    .command('token')
    .description('print a dev JWT (HS256 with JWT_SECRET) for local use')
    .addOption(new Option('--role <role>', 'user, merchant or compliance').choices(ROLES as unknown as string[]).makeOptionMandatory())
    .requiredOption('--id <id>', 'the subject (user or merchant id)')
    .option('--ttl <seconds>', 'lifetime in seconds', positiveInt('ttl'), 12 * 3600)
    .action(async (options: { role: Role; id: string; ttl: number }) => {
      const config = deps.getConfig();
      const secretFile = localStack(config).jwtSecretFile;
      const secret = config.JWT_SECRET ?? readSecret(secretFile);
      if (secret === undefined) {
        deps.usage(
          `JWT_SECRET is not set and ${secretFile} does not exist: set JWT_SECRET to the API's secret (npm start writes that file)`,
        );
      }
      deps.print(await signToken({ ...config, JWT_SECRET: secret }, { role: options.role, id: options.id }, options.ttl));
    });
}

/** The dev secret `npm start` keeps in `file`, if there is one. */
function readSecret(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}
