import path from 'node:path';
import express, { Router } from 'express';
import { repoRoot, type ApiConfig } from '@settle/config';
import type { DeskConfig } from '@settle/contracts';

/** Where `npm run build -w @settle/web` writes the desk. */
export const DESK_DIST = path.join(repoRoot, 'apps/web/dist');

/** Hashed file names change with their content, so a browser may keep them for good. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The merchant desk (apps/web's build) at `/`: `/assets/*` cached for a year (hashed names), everything else,
 * index.html first, revalidated on every load so a new build is picked up at once. `GET /desk/config` tells the
 * desk where the notifier is and whether dev tokens are served. Without a build, `/` is the API's 404.
 */
export function deskRoutes(config: Pick<ApiConfig, 'NOTIFIER_PUBLIC_URL' | 'DEV_AUTH'>, dist = DESK_DIST): Router {
  const router = Router();
  const desk: DeskConfig = { notifierUrl: config.NOTIFIER_PUBLIC_URL, devAuth: config.DEV_AUTH };
  router.get('/desk/config', (_request, response) => void response.set('cache-control', 'no-cache').json(desk));
  router.use(
    '/assets',
    express.static(path.join(dist, 'assets'), {
      index: false,
      fallthrough: true,
      immutable: true,
      maxAge: '365d',
      setHeaders: (response) => response.setHeader('cache-control', IMMUTABLE),
    }),
  );
  router.use(express.static(dist, { index: 'index.html', setHeaders: (response) => response.setHeader('cache-control', 'no-cache') }));
  return router;
}
