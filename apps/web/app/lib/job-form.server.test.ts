import { describe, expect, it } from 'vitest';
import { ApiError, createApiClient } from './api.server';
import { definitionFromText, importedText, jobSaveFailure, parseJobForm } from './job-form.server';

const jobId = '6f1c2b1e-8a7d-4c55-9a57-0d5c7b1b6a11';
const form = (fields: Record<string, string | File>) => {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.set(k, v);
  return f;
};

/** The console's API client, answering GET /jobs/{id} itself. */
const api = createApiClient({
  baseUrl: 'http://api.invalid',
  fetch: async (request) => {
    const url = new URL(request instanceof Request ? request.url : String(request));
    if (url.pathname !== `/api/v1/jobs/${jobId}`) return new Response('{}', { status: 404 });
    const job = {
      id: jobId,
      name: 'j',
      description: '',
      currentVersion: 5,
      steps: 1,
      createdAt: '2026-01-01T00:00:00Z',
      updatedAt: '2026-01-02T00:00:00Z',
      updatedBy: { type: 'user', id: null, name: 'ana@example.com' },
      definition: { name: 'j', steps: [{ name: 's', kind: 'reboot' }] },
    };
    return Response.json(job);
  },
});

describe('the editor’s post', () => {
  it('takes the definition, the tab and the version the edit started from', () => {
    expect(parseJobForm(form({ definition: '{"name":"x"}', mode: 'json', expectedVersion: '3' }))).toEqual({
      ok: true,
      definition: { name: 'x' },
      text: '{"name":"x"}',
      mode: 'json',
      expectedVersion: 3,
    });
    expect(parseJobForm(form({ definition: '{"name":"x"}', expectedVersion: 'nope' }))).toMatchObject({
      ok: true,
      mode: 'builder',
      expectedVersion: undefined,
    });
  });

  it('keeps text that is not a definition, for the JSON tab, with the reason', () => {
    expect(parseJobForm(form({ definition: '{"name":', expectedVersion: '2' }))).toMatchObject({
      ok: false,
      result: {
        formError: expect.stringMatching(/^The definition is not valid JSON/),
        definitionText: '{"name":',
        mode: 'json',
        expectedVersion: 2,
      },
    });
    expect(definitionFromText('[1]')).toEqual({ ok: false, message: 'The definition must be a JSON object.' });
    expect(definitionFromText('  ')).toEqual({ ok: false, message: 'The definition is empty.' });
    expect(definitionFromText(`{"name":"${'é'.repeat(600_000)}"}`)).toEqual({ ok: false, message: 'The definition is larger than 1 MiB.' });
  });

  it('imports an uploaded file rather than the pasted text', async () => {
    const file = new File(['{"name":"from file"}'], 'a.job.json', { type: 'application/json' });
    expect(await importedText(form({ file, definition: '{}' }))).toEqual({
      ok: true,
      text: '{"name":"from file"}',
      fileName: 'a.job.json',
    });
    expect(await importedText(form({ file: new File([], ''), definition: '{"name":"pasted"}' }))).toEqual({
      ok: true,
      text: '{"name":"pasted"}',
      fileName: null,
    });
  });
});

describe('a failed save', () => {
  const posted = { text: '{}', mode: 'builder' as const, jobId, expectedVersion: 4 };
  const bodyOf = async (r: unknown) => (r as { data: unknown; init: { status: number } | null }).data;

  it('lists the issues with paths relative to the definition', async () => {
    const error = new ApiError(400, 'validation_failed', 'Invalid', 'The job definition is not valid.', [
      { path: 'definition.steps.1.command', message: 'sh does not expand anything inside single quotes' },
      { path: 'definition.name', message: 'Too small' },
    ]);
    expect(await bodyOf(await jobSaveFailure(error, api, posted))).toEqual({
      definitionText: '{}',
      mode: 'builder',
      expectedVersion: 4,
      formError: 'The definition has 2 problems; see below.',
      issues: [
        { path: 'steps.1.command', message: 'sh does not expand anything inside single quotes' },
        { path: 'name', message: 'Too small' },
      ],
    });
  });

  it('says when the name is taken', async () => {
    const error = new ApiError(409, 'name_taken', 'Taken', 'A job with this name exists.', [{ path: 'name', message: 'is taken' }]);
    expect(await bodyOf(await jobSaveFailure(error, api, posted))).toMatchObject({
      formError: 'A job with this name exists already: choose another name.',
      issues: [{ path: 'name', message: 'is taken' }],
    });
  });

  it('names the newest version and who saved it on a conflict', async () => {
    const error = new ApiError(409, 'conflict', 'Conflict', 'The job is at version 5 now, not 4: reload it and save again.', []);
    expect(await bodyOf(await jobSaveFailure(error, api, posted))).toMatchObject({
      conflict: { jobId, currentVersion: 5, savedBy: 'ana@example.com', message: expect.stringContaining('version 5') },
    });
  });

  it('rethrows what is not an answer of the API', async () => {
    await expect(jobSaveFailure(new TypeError('boom'), api, posted)).rejects.toThrow('boom');
  });
});
