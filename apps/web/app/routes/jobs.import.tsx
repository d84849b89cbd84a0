/**
 * /jobs/import — jobs as code: a definition file, YAML or JSON (or pasted text), creates the job of its name or saves
 * its next version. JSON is checked here first; YAML goes to the API as it is (the API reads it and names the line
 * of a mistake), so both come back with the API's problems.
 */
import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useNavigation } from '@remix-run/react';
import { useRef, useState } from 'react';
import { ApiError, requireApi } from '~/lib/api.server';
import { definitionFormat, definitionFromText, definitionIssues, importedText, yamlDefinitionText } from '~/lib/job-form.server';
import { requireRole } from '~/lib/roles.server';
import { MAX_DEFINITION_BYTES, type Issue } from '~/lib/job-editor';
import { IssueList } from '~/components/job-editor';
import { Alert, Breadcrumb, Button, Card, Field, PageHeader, Textarea, buttonClass } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Import a job · OpsConductor' }];

type ImportData =
  | { ok: true; job: { id: string; name: string; currentVersion: number }; versionCreated: boolean; text: string }
  | { ok: false; formError: string; issues: Issue[]; text: string };

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  await requireRole(api, 'operator', 'change jobs');
  return null;
}

export async function action({ request, context }: ActionFunctionArgs) {
  const api = await requireApi(request, context);
  const read = await importedText(await request.formData());
  if (!read.ok) return data<ImportData>({ ok: false, formError: read.message, issues: [], text: '' }, { status: 400 });
  const format = definitionFormat(read.text, read.fileName);
  const parsed = format === 'json' ? definitionFromText(read.text) : yamlDefinitionText(read.text);
  if (!parsed.ok) return data<ImportData>({ ok: false, formError: parsed.message, issues: [], text: read.text }, { status: 400 });
  try {
    const { job, versionCreated } =
      'definition' in parsed
        ? await api.post('/jobs/import', { body: parsed.definition })
        : await api.post('/jobs/import', {
            // The YAML text as it is, not JSON-encoded (OpenAPI types it as the document it holds).
            body: parsed.text as never,
            bodySerializer: (body) => String(body),
            headers: { 'Content-Type': 'application/yaml' },
          });
    return data<ImportData>({
      ok: true,
      job: { id: job.id, name: job.name, currentVersion: job.currentVersion },
      versionCreated,
      text: read.text,
    });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const issues = definitionIssues(error);
    return data<ImportData>(
      { ok: false, formError: issues.length ? 'The definition was not imported.' : (error.detail ?? error.title), issues, text: read.text },
      { status: error.status },
    );
  }
}

function Outcome({ result }: { result: Extract<ImportData, { ok: true }> }) {
  const { job, versionCreated } = result;
  const link = (
    <Link to={`/jobs/${job.id}`} className="font-medium underline">
      {job.name}
    </Link>
  );
  return (
    <div data-testid="import-result" data-version-created={versionCreated}>
      {!versionCreated ? (
        <Alert tone="info" title="Unchanged: no new version">
          The definition equals the current version {job.currentVersion} of {link}.
        </Alert>
      ) : job.currentVersion === 1 ? (
        <Alert tone="success" title="Created a new job">
          {link} is at version 1.
        </Alert>
      ) : (
        <Alert tone="success" title={`Saved version ${job.currentVersion}`}>
          {link} is at version {job.currentVersion} now.
        </Alert>
      )}
    </div>
  );
}

export default function ImportJob() {
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = navigation.state === 'submitting';
  const [text, setText] = useState(result?.ok === false ? result.text : '');
  const [fileNote, setFileNote] = useState<string | null>(null);
  const file = useRef<HTMLInputElement>(null);

  return (
    <>
      <Breadcrumb trail={[{ to: '/jobs', label: 'Jobs' }]} current="Import" />
      <PageHeader
        title="Import a job"
        description="A definition creates the job of its name, or saves it as that job's next version; an unchanged one saves nothing."
      />
      <div className="space-y-4">
        {result?.ok ? <Outcome result={result} /> : null}
        {result && !result.ok ? (
          <>
            <Alert title="Not imported">{result.formError}</Alert>
            {result.issues.length > 0 ? <IssueList issues={result.issues} /> : null}
          </>
        ) : null}
        <Form method="post" encType="multipart/form-data" className="space-y-4" noValidate>
          <Card title="Definition">
            <div className="space-y-3 p-4">
              <Field
                label="File"
                hint={fileNote ?? 'A .yaml, .yml or .json file exported from OpsConductor or kept in git (at most 1 MiB)'}
              >
                {(p) => (
                  <input
                    {...p}
                    ref={file}
                    type="file"
                    name="file"
                    accept=".yaml,.yml,.json,application/yaml,application/json"
                    className="block text-[13px] text-zinc-700 file:mr-3 file:rounded-md file:border-0 file:bg-zinc-100 file:px-3 file:py-1.5 file:text-xs file:font-medium"
                    onChange={(e) => {
                      // Shown in the text box below, so that what is imported can be read first.
                      const f = e.currentTarget.files?.[0];
                      if (!f) return;
                      if (f.size > MAX_DEFINITION_BYTES) {
                        setFileNote(`${f.name} is larger than 1 MiB.`);
                        return;
                      }
                      void f.text().then((t) => {
                        setText(t);
                        setFileNote(`Read ${f.name}; it is shown below.`);
                      });
                    }}
                  />
                )}
              </Field>
              <Field
                label="Or paste the YAML or JSON"
                hint="Read as JSON when it starts with { — as YAML otherwise. A file, when chosen, is imported instead"
              >
                {(p) => (
                  <Textarea
                    {...p}
                    name="definition"
                    value={text}
                    onChange={(e) => {
                      setText(e.currentTarget.value);
                      // Typing here means this text is what to import, not the file chosen before.
                      if (file.current?.value) {
                        file.current.value = '';
                        setFileNote(null);
                      }
                    }}
                    rows={Math.min(30, Math.max(10, text.split('\n').length + 1))}
                    spellCheck={false}
                    placeholder={'name: …\nsteps:\n  - name: …\n    kind: shell\n    command: …'}
                  />
                )}
              </Field>
            </div>
          </Card>
          <div className="flex items-center gap-2">
            <Button type="submit" variant="primary" disabled={busy}>
              Import
            </Button>
            <Link to="/jobs" className={buttonClass('ghost')}>
              Cancel
            </Link>
          </div>
        </Form>
      </div>
    </>
  );
}
