export * from './common';
export * from './orders';
export { z } from './zod';
export * from './socket';
export * from './notification-feed';
export * from './socket-client';
export * from './webhooks';
export * from './desk';
export { asyncApiDocument } from './asyncapi';
