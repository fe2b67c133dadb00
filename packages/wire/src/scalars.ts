import { z } from './zod';

export const uuid = z.uuid({ error: 'must be a UUID' });
export const isoTime = z.string().openapi({ format: 'date-time', example: '2026-11-25T10:00:00.000Z' });
