// The one zod, extended with `.openapi()` by @settle/wire (whose schemas carry their OpenAPI names).
export { z } from '@settle/wire';
