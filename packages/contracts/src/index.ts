export * from './common';
export * from './orders';
export { z } from './zod';
