/**
 * The job library in a real browser against the real stack: build a job with two parameters and three steps in
 * the editor's builders, save it, edit a step, see version 2 and the diff from version 1, export it (JSON or YAML) and import the
 * file back unchanged ("no new version"); the API's validation issues land next to the field they name; a save over
 * someone else's newer version shows the conflict; a viewer gets no controls to change jobs.
 * With SCREENSHOT_DIR set, full-page screenshots of the pages visited are written there.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, startStack, type Stack } from '../support/stack.ts';
import { launchChromium } from '../support/browser.ts';

let stack: Stack;
let browser: Browser;
let jobId: string;

const VIEWER = { email: 'viewer@example.com', password: 'Kq8-Wz3r-Jd6n-Tv5p' };
const ROTATE_V1 = 'find /var/log/{{ target }} -name "*.gz" -mtime +{{ retention_days }} -print';
const ROTATE_V2 = 'find /var/log/{{ target }} -name "*.gz" -mtime +{{ retention_days }} -delete';

beforeAll(async () => {
  stack = await startStack({ web: true });
  browser = await launchChromium();
}, 240_000);
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function screenshot(page: Page, name: string) {
  const dir = process.env.SCREENSHOT_DIR;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

async function signIn(page: Page, user: { email: string; password: string } = ADMIN) {
  await page.goto(`${stack.webUrl}/jobs`);
  await page.waitForURL(/\/login/);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/jobs$/);
}

it(
  'builds a job in the editor, edits a step, compares the versions, exports it and imports it back unchanged',
  { timeout: 180_000 },
  async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await signIn(page);
    await expect.poll(() => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs' }).count()).toBe(1);

    await page.getByRole('link', { name: 'New job' }).click();
    await page.waitForURL(/\/jobs\/new$/);
    const editor = page.getByTestId('job-editor');
    await page.getByLabel('Name', { exact: true }).fill('Rotate logs');
    await editor.getByLabel('Description', { exact: true }).first().fill('Old compressed logs of a service');

    // Two parameters: a whole number with a default and bounds, and a choice.
    const parameters = editor.getByTestId('job-parameter');
    await editor.getByRole('button', { name: 'Add parameter' }).click();
    await editor.getByRole('button', { name: 'Add parameter' }).click();
    await expect.poll(() => parameters.count()).toBe(2);
    const days = parameters.nth(0);
    await days.getByLabel('Parameter name').fill('retention_days');
    await days.getByLabel('Type').selectOption('number');
    await days.getByLabel('Default').fill('14');
    await days.getByLabel('Min').fill('1');
    await days.getByLabel('Whole number').check();
    const target = parameters.nth(1);
    await target.getByLabel('Parameter name').fill('target');
    await target.getByLabel('Type').selectOption('enum');
    await target.getByLabel('Values').fill('app\nnginx');
    await target.getByLabel('Default').selectOption('app');
    await target.getByLabel('Required').check();

    // Three steps: the one the editor starts with, a second, and a wait added before it and moved after it.
    const steps = editor.getByTestId('job-step');
    await steps.nth(0).getByLabel('Step name').fill('Disk before');
    await steps.nth(0).getByLabel('Command').fill('df -h /var/log');
    await editor.getByRole('button', { name: 'Add step' }).click();
    await steps.nth(1).getByLabel('Step name').fill('Settle');
    await steps.nth(1).getByLabel('Kind').selectOption('wait');
    await steps.nth(1).getByLabel('Seconds to wait').fill('5');
    await steps.nth(1).getByLabel('Runs').selectOption('always');
    await editor.getByRole('button', { name: 'Add step' }).click();
    await steps.nth(2).getByLabel('Step name').fill('Rotate');
    await steps.nth(2).getByLabel('Command').fill(ROTATE_V1);
    await steps.nth(2).getByLabel('Timeout (s)').fill('600');
    await steps.nth(2).getByLabel('Retries').fill('2');
    await steps.nth(2).getByLabel('Continue on error').check();
    await editor.getByRole('button', { name: 'Move step 2 down' }).click();
    await expect
      .poll(() => steps.getByLabel('Step name').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value)))
      .toEqual(['Disk before', 'Rotate', 'Settle']);
    await screenshot(page, 'job-new');

    await page.getByRole('button', { name: 'Create job' }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}\?created$/);
    jobId = new URL(page.url()).pathname.split('/')[2]!;
    await expect.poll(() => page.getByTestId('job-name').textContent()).toBe('Rotate logs');
    await expect.poll(() => page.getByTestId('job-current-version').textContent()).toBe('Version 1');
    await expect.poll(() => page.getByTestId('job-parameter-row').count()).toBe(2);
    await expect.poll(() => page.getByTestId('job-step-name').allTextContents()).toEqual(['Disk before', 'Rotate', 'Settle']);
    await expect.poll(() => page.getByTestId('job-step-view').nth(1).textContent()).toContain(ROTATE_V1);
    await expect.poll(() => page.getByTestId('job-step-view').nth(1).textContent()).toContain('2 retries');
    await expect.poll(() => page.getByTestId('job-step-view').nth(1).textContent()).toContain('continues on error');

    // The definition as saved, read through the API: what the builder made of the inputs.
    const saved = await stack.api('GET', `/api/v1/jobs/${jobId}`);
    expect(saved.body.definition.parameters).toEqual([
      { name: 'retention_days', type: 'number', required: false, default: 14, integer: true, min: 1 },
      { name: 'target', type: 'enum', required: true, values: ['app', 'nginx'], default: 'app' },
    ]);
    expect(saved.body.definition.steps[1]).toMatchObject({
      name: 'Rotate',
      kind: 'shell',
      command: ROTATE_V1,
      timeoutSeconds: 600,
      retries: { count: 2, backoffSeconds: 10 },
      continueOnError: true,
    });
    expect(saved.body.definition.steps[2]).toMatchObject({ kind: 'wait', seconds: 5, condition: 'always' });

    // The library lists it, and finds it by part of its name.
    await page.goto(`${stack.webUrl}/jobs?search=rotate`);
    await expect.poll(() => page.getByTestId('job-row').count()).toBe(1);
    await expect.poll(() => page.getByTestId('job-row').textContent()).toContain(ADMIN.email);
    await screenshot(page, 'jobs');
    await page.goto(`${stack.webUrl}/jobs?search=no-such-job`);
    await expect.poll(() => page.getByTestId('job-row').count()).toBe(0);

    // Edit: the API's issue (a reference sh would not expand) lands on the step's command; fixed, it saves version 2.
    await page.goto(`${stack.webUrl}/jobs/${jobId}/edit`);
    const rotate = steps.nth(1);
    await rotate.getByLabel('Command').fill("echo '{{ target }}'");
    await page.getByRole('button', { name: 'Save job' }).click();
    await expect.poll(() => rotate.getByLabel('Command').getAttribute('aria-invalid')).toBe('true');
    await expect.poll(() => page.getByTestId('job-error-summary').textContent()).toContain('Step 2 “Rotate” · command');
    await screenshot(page, 'job-edit-error');
    await rotate.getByLabel('Command').fill(ROTATE_V2);
    await expect.poll(() => rotate.getByLabel('Command').getAttribute('aria-invalid')).toBe(null);
    await page.getByRole('button', { name: 'Save job' }).click();
    await page.waitForURL(/\?saved=2$/);
    await expect.poll(() => page.getByTestId('job-current-version').textContent()).toBe('Version 2');
    await expect.poll(() => page.getByTestId('job-version-row').count()).toBe(2);
    await expect.poll(() => page.getByTestId('job-version-author').first().textContent()).toBe(ADMIN.email);

    // The diff from version 1 to 2 (the selection the panel starts with) names the changed path.
    await page.getByLabel('Compare from version 1').check();
    await page.getByLabel('Compare to version 2').check();
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.waitForURL((url) => url.searchParams.get('from') === '1' && url.searchParams.get('to') === '2');
    await expect.poll(() => page.getByTestId('job-diff-path').allTextContents()).toEqual(['steps.1.command']);
    await expect.poll(() => page.getByTestId('job-diff-change').getAttribute('data-kind')).toBe('changed');
    await expect.poll(() => page.getByTestId('job-diff').textContent()).toContain('-print');
    await screenshot(page, 'job-diff');

    // Version 1, read-only.
    await page.getByRole('link', { name: 'v1', exact: true }).click();
    await page.waitForURL(/\/versions\/1$/);
    await expect.poll(() => page.getByTestId('job-version-banner').textContent()).toContain('An old version');
    await expect.poll(() => page.getByTestId('job-step-view').nth(1).textContent()).toContain(ROTATE_V1);
    await screenshot(page, 'job-version');

    // The JSON tab and the builder stay in step.
    await page.goto(`${stack.webUrl}/jobs/${jobId}/edit`);
    await page.getByRole('button', { name: 'JSON' }).click();
    const json = page.getByLabel('Definition JSON');
    const text = await json.inputValue();
    expect(JSON.parse(text)).toMatchObject({ name: 'Rotate logs', steps: [{}, { command: ROTATE_V2 }, {}] });
    await json.fill(text.replace('Old compressed logs of a service', 'Edited as JSON'));
    await page.getByRole('button', { name: 'Builder' }).click();
    await expect.poll(() => editor.getByLabel('Description', { exact: true }).first().inputValue()).toBe('Edited as JSON');

    // Export, then import the file as it is: nothing changed, so no version is created.
    await page.goto(`${stack.webUrl}/jobs/${jobId}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export JSON' }).click()]);
    expect(download.suggestedFilename()).toBe('Rotate-logs.job.json');
    const file = await download.path();
    const exported = JSON.parse(await readFile(file, 'utf8'));
    expect(exported).toMatchObject({ schemaVersion: 1, name: 'Rotate logs', steps: [{}, { command: ROTATE_V2 }, {}] });

    await page.goto(`${stack.webUrl}/jobs`);
    await page.getByRole('link', { name: 'Import' }).click();
    await page.waitForURL(/\/jobs\/import$/);
    await page.getByLabel('File').setInputFiles(file);
    await expect.poll(() => page.getByLabel('Or paste the YAML or JSON').inputValue()).toContain('"Rotate logs"');
    await page.getByRole('button', { name: 'Import' }).click();
    await expect.poll(() => page.getByTestId('import-result').getAttribute('data-version-created')).toBe('false');
    await expect.poll(() => page.getByTestId('import-result').textContent()).toContain('Unchanged: no new version');
    await screenshot(page, 'job-import');
    expect((await stack.api('GET', `/api/v1/jobs/${jobId}/versions`)).body.items).toHaveLength(2);
    await page.close();
  },
);

it('shows the conflict when someone else saved a newer version meanwhile', async () => {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await signIn(page);
  await page.goto(`${stack.webUrl}/jobs/${jobId}/edit`);
  const step = page.getByTestId('job-step').nth(0);
  await step.getByLabel('Step name').fill('Disk usage before');

  // Version 3, saved through the API while the editor holds version 2.
  const { body: job } = await stack.api('GET', `/api/v1/jobs/${jobId}`);
  const other = await stack.api('PUT', `/api/v1/jobs/${jobId}`, {
    definition: { ...job.definition, description: 'Saved by someone else' },
    expectedVersion: 2,
  });
  expect(other.status).toBe(200);
  expect(other.body.job.currentVersion).toBe(3);

  await page.getByRole('button', { name: 'Save job' }).click();
  const conflict = page.getByTestId('job-conflict');
  await expect.poll(() => conflict.textContent()).toContain('Someone else saved this job while you were editing');
  await expect.poll(() => conflict.getByRole('link', { name: 'See version 3' }).getAttribute('href')).toBe(`/jobs/${jobId}/versions/3`);
  // The edit is still there, and saving it again is still refused (it started from version 2).
  await expect.poll(() => step.getByLabel('Step name').inputValue()).toBe('Disk usage before');
  await screenshot(page, 'job-conflict');
  await page.getByRole('button', { name: 'Save job' }).click();
  await expect.poll(() => conflict.textContent()).toContain('version 3');
  expect((await stack.api('GET', `/api/v1/jobs/${jobId}`)).body.currentVersion).toBe(3);
  await page.close();
});

it('gives a viewer no controls to create, import or edit jobs', async () => {
  const created = await stack.api('POST', '/api/v1/users', { ...VIEWER, name: 'Viewer', role: 'viewer' });
  expect(created.status).toBe(201);
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  await signIn(page, VIEWER);
  await expect.poll(() => page.getByTestId('job-row').count()).toBe(1);
  expect(await page.getByRole('link', { name: 'New job' }).count()).toBe(0);
  expect(await page.getByRole('link', { name: 'Import' }).count()).toBe(0);

  await page.getByRole('link', { name: 'Rotate logs' }).click();
  await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
  await expect.poll(() => page.getByTestId('job-current-version').textContent()).toBe('Version 3');
  expect(await page.getByRole('link', { name: 'Export YAML' }).count()).toBe(1);
  expect(await page.getByRole('link', { name: 'Export JSON' }).count()).toBe(1);
  expect(await page.getByRole('link', { name: 'Edit', exact: true }).count()).toBe(0);
  await page.getByRole('link', { name: 'v1', exact: true }).click();
  await page.waitForURL(/\/versions\/1$/);
  expect(await page.getByRole('link', { name: 'Edit from this version' }).count()).toBe(0);

  for (const path of ['/jobs/new', '/jobs/import', `/jobs/${jobId}/edit`]) {
    const res = await page.goto(`${stack.webUrl}${path}`);
    expect(res?.status()).toBe(403);
    await expect.poll(() => page.getByTestId('error-page').textContent()).toContain('Viewers cannot change jobs');
  }
  await context.close();
});

it('creates a job from the JSON tab without JavaScript, and keeps the text when the API refuses it', async () => {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page);
  await page.goto(`${stack.webUrl}/jobs/new`);
  await page.getByRole('button', { name: 'JSON' }).click();
  await page.waitForURL(/\/jobs\/new\?tab=json$/);
  const json = page.getByLabel('Definition JSON');
  const broken = JSON.stringify({ name: 'No script', steps: [{ name: 'one', kind: 'shell', command: 'true', retrys: 2 }] });
  await json.fill(broken);
  await page.getByRole('button', { name: 'Create job' }).click();
  await expect.poll(() => page.getByTestId('job-issues').textContent()).toContain('steps.0.retrys');
  expect(await json.inputValue()).toBe(broken);

  await json.fill(JSON.stringify({ name: 'No script', steps: [{ name: 'one', kind: 'shell', command: 'true' }] }));
  await page.getByRole('button', { name: 'Create job' }).click();
  await page.waitForURL(/\/jobs\/[0-9a-f-]{36}\?created$/);
  await expect.poll(() => page.getByTestId('job-name').textContent()).toBe('No script');
  await context.close();
});

it('downloads a job as YAML and imports it back: unchanged, edited, and a mistake shown with its line', { timeout: 120_000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await signIn(page);
  const before = (await stack.api('GET', `/api/v1/jobs/${jobId}`)).body.currentVersion as number;
  await page.goto(`${stack.webUrl}/jobs/${jobId}`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export YAML' }).click()]);
  expect(download.suggestedFilename()).toBe('Rotate-logs.job.yaml');
  const yaml = await readFile(await download.path(), 'utf8');
  // The API's file, passed on as it is: the schema comment for editors, the commands readable.
  const fromApi = await fetch(`${stack.apiUrl}/api/v1/jobs/${jobId}/export?format=yaml`, {
    headers: { authorization: `Bearer ${stack.adminToken}` },
  });
  expect(yaml).toBe(await fromApi.text());
  expect(yaml.split('\n')[0]).toBe('# yaml-language-server: $schema=https://opsconductor.dev/schemas/job-definition.schema.json');
  expect(yaml).toContain('name: Rotate logs\n');
  expect(yaml).toContain(`command: ${ROTATE_V2}\n`);

  // The file as it is, recognized as YAML by its extension: nothing changed, no version.
  await page.goto(`${stack.webUrl}/jobs/import`);
  await page.getByLabel('File').setInputFiles({ name: 'Rotate-logs.job.yaml', mimeType: 'application/yaml', buffer: Buffer.from(yaml) });
  await expect.poll(() => page.getByLabel('Or paste the YAML or JSON').inputValue()).toContain('name: Rotate logs');
  await page.getByRole('button', { name: 'Import' }).click();
  await expect.poll(() => page.getByTestId('import-result').getAttribute('data-version-created')).toBe('false');
  expect((await stack.api('GET', `/api/v1/jobs/${jobId}`)).body.currentVersion).toBe(before);

  // Pasted and edited (no file: the text says it is YAML): the next version.
  await page.goto(`${stack.webUrl}/jobs/import`);
  const edited = yaml.replace(/^description: .*$/m, 'description: Edited in git as YAML');
  expect(edited).not.toBe(yaml);
  await page.getByLabel('Or paste the YAML or JSON').fill(edited);
  await page.getByRole('button', { name: 'Import' }).click();
  await expect.poll(() => page.getByTestId('import-result').getAttribute('data-version-created')).toBe('true');
  await expect.poll(() => page.getByTestId('import-result').textContent()).toContain(`Saved version ${before + 1}`);
  expect((await stack.api('GET', `/api/v1/jobs/${jobId}`)).body.definition.description).toBe('Edited in git as YAML');

  // A YAML mistake: the API's message, with the line and column, and the text kept to fix it.
  const broken = 'name: Rotate logs\nsteps:\n  - name: a\n   kind: shell\n';
  await page.getByLabel('Or paste the YAML or JSON').fill(broken);
  await page.getByRole('button', { name: 'Import' }).click();
  await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/Line 4, column 1: /);
  expect(await page.getByLabel('Or paste the YAML or JSON').inputValue()).toBe(broken);
  await page.getByLabel('Or paste the YAML or JSON').fill('name: !!js/function "x"\nsteps: []\n');
  await page.getByRole('button', { name: 'Import' }).click();
  await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('The tag !!js/function is not allowed');
  await screenshot(page, 'job-import-yaml-error');
  expect((await stack.api('GET', `/api/v1/jobs/${jobId}`)).body.currentVersion).toBe(before + 1);
  await page.close();
});

it(
  'archives a job out of the library and back, refuses one that a schedule starts, and deletes one that never ran',
  { timeout: 120_000 },
  async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await signIn(page);
    const created = await stack.api('POST', '/api/v1/jobs', {
      name: `archive-me-${randomUUID().slice(0, 8)}`,
      steps: [{ name: 'one', kind: 'shell', command: 'true' }],
    });
    expect(created.status).toBe(201);
    const job = created.body as { id: string; name: string };
    await page.goto(`${stack.webUrl}/jobs/${job.id}`);
    await page.getByRole('button', { name: 'Archive', exact: true }).click();
    await expect.poll(() => page.getByTestId('job-archived').count()).toBe(1);
    // Archived: no Run or Schedule here, out of the library unless asked for.
    expect(await page.getByRole('link', { name: 'Run', exact: true }).count()).toBe(0);
    await page.goto(`${stack.webUrl}/jobs`);
    expect(await page.locator(`[data-job-id="${job.id}"]`).count()).toBe(0);
    await page.getByLabel('Archived jobs').selectOption('only');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/archived=only/);
    expect(await page.locator(`[data-job-id="${job.id}"]`).getByTestId('job-archived').textContent()).toBe('Archived');
    await page.locator(`[data-job-id="${job.id}"]`).getByRole('link', { name: job.name }).click();
    await page.waitForURL(new RegExp(`/jobs/${job.id}$`));
    await page.getByRole('button', { name: 'Unarchive' }).click();
    await expect.poll(() => page.getByRole('link', { name: 'Run', exact: true }).count()).toBe(1);
    expect((await stack.api('GET', `/api/v1/jobs/${job.id}`)).body.archivedAt).toBeNull();

    // A schedule starts it: the API's refusal is on the page.
    const schedule = await stack.api('POST', `/api/v1/jobs/${job.id}/schedules`, {
      name: `keeps-it-${randomUUID().slice(0, 8)}`,
      filter: {},
      spec: { cron: ['0 3 * * *'] },
      paused: true,
    });
    expect(schedule.status, JSON.stringify(schedule.body)).toBe(201);
    await page.getByRole('button', { name: 'Archive', exact: true }).click();
    await expect.poll(() => page.getByText('delete them before archiving it').count()).toBe(1);
    expect((await stack.api('GET', `/api/v1/jobs/${job.id}`)).body.archivedAt).toBeNull();
    await stack.api('DELETE', `/api/v1/job-schedules/${schedule.body.id}`);

    // Never ran: archived, it can be deleted (after a confirm).
    await page.reload();
    await page.getByRole('button', { name: 'Archive', exact: true }).click();
    await expect.poll(() => page.getByTestId('job-archived').count()).toBe(1);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(/\/jobs\?deleted=1$/);
    // The URL changes before the list has rendered its notice.
    await expect.poll(() => page.getByText('Deleted the job and its versions.').count()).toBe(1);
    expect((await stack.api('GET', `/api/v1/jobs/${job.id}`)).status).toBe(404);
  },
);
