/** Writes docs/schemas/job-definition.schema.json from the definition's zod schema: `npm run generate:job-schema`. */
import { writeFile } from 'node:fs/promises';
import { jobDefinitionSchemaPath, renderJobDefinitionJsonSchema } from './json-schema.ts';

await writeFile(jobDefinitionSchemaPath, await renderJobDefinitionJsonSchema());
console.log(`[generate:job-schema] wrote ${jobDefinitionSchemaPath}`);
