/**
 * The API process bench/api compares against the shipped one: startApi as main.ts runs it, with the Express bends
 * named by `--off` turned off (`--off fastJsonBody`). Only the bench starts the API this way:
 * the product has no switch for them.
 */
import { parseArgs } from 'node:util';
import { ALL_BENDS, startApi, type ExpressBends } from '@settle/api';
import { loadAppConfig } from '@settle/config';
import { createLogger, onShutdown } from '@settle/observability';

const { values } = parseArgs({ options: { off: { type: 'string', multiple: true, default: [] } } });
const isBend = (name: string): name is keyof ExpressBends => Object.hasOwn(ALL_BENDS, name);
const unknown = values.off.filter((name) => !isBend(name));
if (unknown.length > 0) throw new Error(`--off ${unknown.join(', ')}: not an Express bend (${Object.keys(ALL_BENDS).join(', ')})`);
const expressBends: Partial<ExpressBends> = Object.fromEntries(values.off.map((name) => [name, false]));

const config = loadAppConfig('api');
const logger = createLogger('api', config.LOG_LEVEL);
const api = await startApi({ config, logger, expressBends });
onShutdown(logger, () => api.stop());
