/** Reading the job editor's and the import page's posts, and turning API failures into what those pages show. */
import { data } from '@remix-run/node';
import { z } from 'zod';
import type { JobFormData } from '~/components/job-editor';
import { ApiError, type ApiClient, type Schema } from './api.server';
import { MAX_DEFINITION_BYTES, normalizeIssuePath, type Issue } from './job-editor';
const TOO_LARGE = 'The definition is larger than 1 MiB.';

const expectedVersionField = z.coerce.number().int().min(1).max(2_147_483_647).optional().catch(undefined);

export type ParsedJobForm =
  | { ok: true; definition: Schema<'JobDefinition'>; text: string; mode: 'builder' | 'json'; expectedVersion: number | undefined }
  | { ok: false; result: JobFormData };

/** The editor's post: the definition as JSON text (from the builder's hidden field or the JSON tab), the tab, the version edited. */
export function parseJobForm(form: FormData): ParsedJobForm {
  const text = String(form.get('definition') ?? '');
  const mode = form.get('mode') === 'json' ? 'json' : 'builder';
  const expectedVersion = expectedVersionField.parse(form.get('expectedVersion') || undefined);
  const parsed = definitionFromText(text);
  if (!parsed.ok) return { ok: false, result: { formError: parsed.message, definitionText: text, mode: 'json', expectedVersion } };
  return { ok: true, definition: parsed.definition, text, mode, expectedVersion };
}

/** JSON text as a definition to send (the API checks what it is). */
export function definitionFromText(text: string): { ok: true; definition: Schema<'JobDefinition'> } | { ok: false; message: string } {
  if (new TextEncoder().encode(text).length > MAX_DEFINITION_BYTES) return { ok: false, message: TOO_LARGE };
  if (!text.trim()) return { ok: false, message: 'The definition is empty.' };
  try {
    const definition: unknown = JSON.parse(text);
    if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) {
      return { ok: false, message: 'The definition must be a JSON object.' };
    }
    return { ok: true, definition: definition as Schema<'JobDefinition'> };
  } catch (error) {
    return { ok: false, message: `The definition is not valid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * Whether an imported definition is JSON or YAML: by the file's extension (.json, .yaml, .yml), else by its first
 * character (JSON is an object; a YAML definition starts with a key or a comment).
 */
export function definitionFormat(text: string, fileName: string | null): 'json' | 'yaml' {
  const extension = /\.(json|ya?ml)$/i.exec(fileName ?? '')?.[1]?.toLowerCase();
  if (extension) return extension === 'json' ? 'json' : 'yaml';
  return /^\uFEFF?\s*[{[]/.test(text) ? 'json' : 'yaml';
}

/** YAML text as it is sent to the API, which reads it (safely) and names the line of a mistake; or why not. */
export function yamlDefinitionText(text: string): { ok: true; text: string } | { ok: false; message: string } {
  if (new TextEncoder().encode(text).length > MAX_DEFINITION_BYTES) return { ok: false, message: TOO_LARGE };
  if (!text.trim()) return { ok: false, message: 'The definition is empty.' };
  return { ok: true, text };
}

/** The import page's post: an uploaded file wins over the pasted text. */
export async function importedText(
  form: FormData,
): Promise<{ ok: true; text: string; fileName: string | null } | { ok: false; message: string }> {
  const file = form.get('file');
  if (file instanceof File && file.size > 0) {
    if (file.size > MAX_DEFINITION_BYTES) return { ok: false, message: TOO_LARGE };
    return { ok: true, text: await file.text(), fileName: file.name || null };
  }
  return { ok: true, text: String(form.get('definition') ?? ''), fileName: null };
}

/** The API's validation issues with paths relative to the definition (`steps.1.command`). */
export function definitionIssues(error: ApiError): Issue[] {
  return error.errors.map((e) => ({ path: normalizeIssuePath(e.path), message: e.message }));
}

/**
 * A failed create or save as the editor's data: validation issues for the fields, a conflict (someone saved a
 * newer version) with that version's number, or the API's message. Rethrows what is not an API answer.
 */
export async function jobSaveFailure(
  error: unknown,
  api: ApiClient,
  posted: { text: string; mode: 'builder' | 'json'; jobId?: string; expectedVersion?: number },
) {
  if (!(error instanceof ApiError)) throw error;
  const base = { definitionText: posted.text, mode: posted.mode, expectedVersion: posted.expectedVersion };
  if (error.status === 409 && error.code === 'conflict' && posted.jobId) {
    const current = await api.get('/jobs/{id}', { params: { path: { id: posted.jobId } } });
    return data<JobFormData>(
      {
        ...base,
        conflict: {
          jobId: current.id,
          currentVersion: current.currentVersion,
          savedBy: current.updatedBy.name,
          message: error.detail ?? 'The job has a newer version.',
        },
      },
      { status: 409 },
    );
  }
  const issues = definitionIssues(error);
  const formError =
    error.code === 'name_taken'
      ? 'A job with this name exists already: choose another name.'
      : issues.length > 0
        ? issues.length === 1
          ? 'The definition has a problem; see below.'
          : `The definition has ${issues.length} problems; see below.`
        : (error.detail ?? error.title);
  return data<JobFormData>({ ...base, formError, issues }, { status: error.status });
}
