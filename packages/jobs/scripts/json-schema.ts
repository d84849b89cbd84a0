/** The published JSON Schema file's text, formatted as the repository formats JSON. */
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { JOB_DEFINITION_SCHEMA_FILE, jobDefinitionJsonSchema } from '../src/definition.ts';

export const jobDefinitionSchemaPath = join(import.meta.dirname, '../../..', JOB_DEFINITION_SCHEMA_FILE);

export async function renderJobDefinitionJsonSchema(): Promise<string> {
  const options = await resolveConfig(jobDefinitionSchemaPath);
  return format(JSON.stringify(jobDefinitionJsonSchema()), { ...options, filepath: jobDefinitionSchemaPath });
}
