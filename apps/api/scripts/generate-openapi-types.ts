/** Writes packages/contracts/src/openapi-types.ts from the API's routes: `npm run generate:openapi`. */
import { writeFile } from 'node:fs/promises';
import { OPENAPI_TYPES_FILE, openApiDocument, renderOpenApiTypes } from './openapi-types.ts';

await writeFile(OPENAPI_TYPES_FILE, await renderOpenApiTypes(openApiDocument()));
console.log(`[generate:openapi] wrote ${OPENAPI_TYPES_FILE}`);
