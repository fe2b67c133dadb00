/// <reference types="@asteasolutions/zod-to-openapi" preserve="true" />
// The reference keeps `.openapi()`'s types in the emitted declarations, so packages that build on these schemas
// (contracts) can call it too.
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

// Adds `.openapi()` to zod schemas so OpenAPI/AsyncAPI documents are generated from the same schemas.
extendZodWithOpenApi(z);

export { z };
