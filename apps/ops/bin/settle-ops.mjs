#!/usr/bin/env node
// settle-ops: runs the TypeScript CLI through tsx's loader, so it works from a fresh clone after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
