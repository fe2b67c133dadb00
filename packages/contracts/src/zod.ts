import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

// Adds `.openapi()` to zod schemas so OpenAPI/AsyncAPI documents are generated from the same schemas.
extendZodWithOpenApi(z);

export { z };
