/**
 * Four-eyes approval of a job's runs (issue 7) in a real browser against the real stack with a real agent: a run of a
 * job with `approval` started by the admin waits in the approvals inbox, where its creator sees "Waiting for another
 * operator" and no buttons and a viewer only reads; a second operator, signed in through the console in a browser
 * context of their own, approves it there with a comment, and the run page shows who approved it while the agent runs
 * it to success. A second run rejected from its run page ends rejected, shown as finished. The editor's approval
 * field round-trips: ticked with an expiry, saved as version 2 with exactly that expiry, and shown on the job page.
 * With SCREENSHOT_DIR set, full-page screenshots of the pages visited are written there.
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, outputOf, startStack, waitForRun, type AgentHandle, type Stack } from '../support/stack.ts';
import { launchChromium } from '../support/browser.ts';

let stack: Stack;
let agent: AgentHandle;
let browser: Browser;
/** The admin's page: the admin starts every run here. */
let admin: Page;
/** The second operator's page, in a browser context (cookies) of its own. */
let approver: Page;

const APPROVER = { email: `approver-${randomUUID().slice(0, 8)}@example.com`, password: 'Kp4-Wz8r-Ty2m-Vb6q', name: 'Second Operator' };
const VIEWER = { email: `viewer-${randomUUID().slice(0, 8)}@example.com`, password: 'Jd6n-Tv5p-Kq8w-Wz3r', name: 'Viewer' };
const SECRET = `s3cr3t-${randomUUID()}`;

async function signIn(user: { email: string; password: string }, path: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const page = await context.newPage();
  await page.goto(`${stack.webUrl}/login?redirectTo=${encodeURIComponent(path)}`);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname === path);
  return page;
}

beforeAll(async () => {
  stack = await startStack({ web: true });
  agent = await stack.enrollAgent();
  await agent.start();
  browser = await launchChromium();
  for (const [user, role] of [
    [APPROVER, 'operator'],
    [VIEWER, 'viewer'],
  ] as const) {
    const created = await stack.api('POST', '/api/v1/users', { ...user, role });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }
  admin = await signIn(ADMIN, '/jobs');
  approver = await signIn(APPROVER, '/approvals');
}, 240_000);
afterAll(async () => {
  if (process.env.E2E_DUMP_LOGS) console.log(stack?.logs.join('\n'));
  await browser?.close();
  await stack?.close();
});

async function screenshot(page: Page, name: string) {
  const dir = process.env.SCREENSHOT_DIR;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

async function createJob(definition: Record<string, unknown>): Promise<{ id: string; name: string }> {
  const res = await stack.api('POST', '/api/v1/jobs', definition);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** A run of the job on the agent's device, started by the admin through the API: it waits for approval. */
async function startRun(jobId: string, parameters: Record<string, unknown> = {}): Promise<string> {
  const res = await stack.api('POST', `/api/v1/jobs/${jobId}/runs`, { deviceIds: [agent.deviceId], parameters });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const run = await stack.api('GET', `/api/v1/job-runs/${res.body.id}`);
  expect(run.body).toMatchObject({ status: 'awaiting_approval', approval: { decision: null } });
  return res.body.id;
}

const runStatus = (page: Page) => page.getByTestId('run-status').getAttribute('data-status');

it(
  'waits in the inbox, where its creator cannot decide it; another operator approves it with a comment and it runs',
  { timeout: 180_000 },
  async () => {
    const job = await createJob({
      name: `guarded-deploy-${randomUUID().slice(0, 8)}`,
      approval: { expiresAfterSeconds: 3600 },
      parameters: [
        { name: 'greeting', type: 'string', required: true },
        { name: 'token', type: 'secret' },
      ],
      steps: [{ name: 'greet', kind: 'shell', command: "printf 'approved: %s\\n' {{ greeting }}" }],
    });
    const runId = await startRun(job.id, { greeting: 'hello-four-eyes', token: SECRET });

    // The admin started it: the inbox lists it, with a note instead of buttons.
    await admin.goto(`${stack.webUrl}/approvals`);
    const nav = admin.getByRole('navigation', { name: 'Main' });
    await expect.poll(() => nav.getByTestId('approvals-count').textContent()).toBe('1');
    const row = admin.locator(`[data-testid="approval-row"][data-run-id="${runId}"]`);
    expect(await row.getByTestId('approval-job').textContent()).toBe(`${job.name}v1`);
    expect(await row.getByTestId('approval-created-by').textContent()).toBe(ADMIN.email);
    expect(await row.getByTestId('approval-devices').textContent()).toBe('1 device');
    expect(await row.locator('[data-testid="approval-parameter"][data-name="greeting"]').textContent()).toContain('hello-four-eyes');
    expect(await row.locator('[data-testid="approval-parameter"][data-name="token"]').textContent()).toContain('•••• (secret)');
    expect(await row.getByTestId('approval-expires').textContent()).toMatch(/^in (59 min|60 min|1 h)/); // an hour less the seconds the page took: rounded either way
    expect(await row.getByTestId('approval-own').textContent()).toContain('Waiting for another operator');
    expect(await row.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect(await row.getByRole('button', { name: 'Reject' }).count()).toBe(0);
    expect(await admin.content()).not.toContain(SECRET);
    await screenshot(admin, 'approvals-own-run');

    // Its run page says who must decide and until when; nothing runs, so no output or device to cancel; Cancel run stays.
    // The page stays open while the run is approved, and follows it.
    await admin.goto(`${stack.webUrl}/runs/${runId}`);
    expect(await runStatus(admin)).toBe('awaiting_approval');
    const banner = admin.getByTestId('approval-banner');
    expect(await banner.getAttribute('data-phase')).toBe('waiting');
    expect(await banner.textContent()).toContain('Waiting for another operator');
    expect(await admin.getByTestId('approval-form').count()).toBe(0);
    expect(await admin.getByRole('button', { name: 'Cancel run' }).count()).toBe(1);
    expect(await admin.getByRole('button', { name: 'Cancel device' }).count()).toBe(0);
    expect(await admin.getByRole('region', { name: 'Output' }).count()).toBe(0);
    expect(await admin.getByRole('link', { name: 'View' }).count()).toBe(0);
    expect(
      await admin.getByTestId('target-row').filter({ hasText: hostname() }).getByTestId('target-status').getAttribute('data-status'),
    ).toBe('pending');
    await screenshot(admin, 'approval-run-waiting');

    // A viewer reads the inbox: no buttons.
    const viewer = await signIn(VIEWER, '/approvals');
    const viewerRow = viewer.locator(`[data-testid="approval-row"][data-run-id="${runId}"]`);
    await expect.poll(() => viewerRow.getByTestId('approval-read-only').count()).toBe(1);
    expect(await viewerRow.getByRole('button').count()).toBe(0);
    await viewer.context().close();

    // The second operator approves it from the inbox, with a comment.
    await approver.goto(`${stack.webUrl}/approvals`);
    const theirs = approver.locator(`[data-testid="approval-row"][data-run-id="${runId}"]`);
    await theirs.getByLabel('Comment').fill('change ticket 42');
    await screenshot(approver, 'approvals-inbox');
    await theirs.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => approver.getByTestId('approval-result').textContent()).toContain(`Approved the run of ${job.name}`);
    await approver.getByTestId('approval-result').getByRole('link', { name: 'See the run' }).click();
    await approver.waitForURL(new RegExp(`/runs/${runId}$`));
    const decision = approver.getByTestId('approval-decision');
    await expect.poll(() => decision.textContent()).toMatch(new RegExp(`^Approved by ${APPROVER.email} at .+ \\(change ticket 42\\)$`));
    await expect.poll(() => runStatus(approver), { timeout: 60_000 }).toBe('succeeded');
    expect(await decision.textContent()).toContain('change ticket 42');
    await expect.poll(() => approver.getByTestId('output-stdout').textContent()).toContain('approved: hello-four-eyes\n');
    expect(await approver.getByTestId('approval-form').count()).toBe(0);
    await screenshot(approver, 'approval-run-approved');

    // The admin's page of the run, open all along, followed it live: approved, then run, with its output.
    await expect.poll(() => runStatus(admin), { timeout: 30_000 }).toBe('succeeded');
    expect(await admin.getByTestId('approval-decision').textContent()).toContain(`Approved by ${APPROVER.email}`);
    await expect.poll(() => admin.getByTestId('output-stdout').textContent()).toContain('approved: hello-four-eyes\n');
    expect(await admin.getByTestId('approval-banner').textContent()).not.toContain('Waiting for another operator');

    const done = await waitForRun(stack, runId);
    expect(done).toMatchObject({
      status: 'succeeded',
      approval: { decision: 'approved', decidedBy: APPROVER.email, comment: 'change ticket 42' },
    });
    expect(await outputOf(stack, runId, agent.deviceId)).toBe('approved: hello-four-eyes\n');
    // Nothing waits any more: the inbox is empty and the badge gone.
    await admin.goto(`${stack.webUrl}/approvals`);
    await expect.poll(() => admin.getByTestId('approval-row').count()).toBe(0);
    expect(await admin.getByRole('navigation', { name: 'Main' }).getByTestId('approvals-count').count()).toBe(0);
  },
);

it('rejects a run from its run page: it ends rejected and is shown finished', { timeout: 180_000 }, async () => {
  const job = await createJob({
    name: `guarded-reboot-${randomUUID().slice(0, 8)}`,
    approval: { expiresAfterSeconds: 7200 },
    steps: [{ name: 'would run', kind: 'shell', command: 'echo this must not run' }],
  });
  const runId = await startRun(job.id);

  await approver.goto(`${stack.webUrl}/runs/${runId}`);
  const banner = approver.getByTestId('approval-banner');
  expect(await banner.textContent()).toContain(`An operator other than ${ADMIN.email} must approve or reject it by`);
  const form = approver.getByTestId('approval-form');
  await form.getByLabel('Comment').fill('not during business hours');
  await screenshot(approver, 'approval-run-decide');
  await form.getByRole('button', { name: 'Reject' }).click();

  await expect.poll(() => runStatus(approver), { timeout: 30_000 }).toBe('rejected');
  const decision = approver.getByTestId('approval-decision');
  await expect
    .poll(() => decision.textContent())
    .toMatch(new RegExp(`^Rejected by ${APPROVER.email} at .+ \\(not during business hours\\)$`));
  expect(await banner.getAttribute('data-phase')).toBe('rejected');
  // Finished: no stream, nothing to cancel or re-run, no output; the device was never sent anything.
  await expect.poll(() => approver.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
  expect(await approver.getByTitle('Receiving live updates').count()).toBe(0);
  expect(await approver.getByTestId('approval-form').count()).toBe(0);
  expect(await approver.getByTestId('rerun-form').count()).toBe(0);
  expect(await approver.getByRole('region', { name: 'Output' }).count()).toBe(0);
  const target = approver.getByTestId('target-row').filter({ hasText: hostname() });
  await expect.poll(() => target.getByTestId('target-status').getAttribute('data-status')).toBe('cancelled');
  await expect.poll(() => target.textContent()).toContain(`Not run: ${APPROVER.email} rejected the run.`);
  await screenshot(approver, 'approval-run-rejected');

  const rejected = await waitForRun(stack, runId);
  expect(rejected).toMatchObject({ status: 'rejected', approval: { decision: 'rejected', comment: 'not during business hours' } });
  expect(await outputOf(stack, runId, agent.deviceId)).toBe('');

  // The runs list filters by the new statuses, by name.
  await admin.goto(`${stack.webUrl}/runs`);
  const status = admin.getByLabel('Status');
  expect(await status.locator('option').allTextContents()).toEqual(
    expect.arrayContaining(['Awaiting approval', 'Rejected', 'Expired', 'Succeeded']),
  );
  await status.selectOption({ label: 'Rejected' });
  await admin.getByRole('button', { name: 'Filter' }).click();
  await admin.waitForURL(/status=rejected/);
  await expect.poll(() => admin.getByTestId('run-row').count()).toBe(1);
  expect(await admin.getByTestId('run-row').locator('[data-status="rejected"]').textContent()).toBe('Rejected');
  expect(await admin.getByTestId('run-row').getByTestId('run-job').textContent()).toContain(job.name);
});

it('ticks approval in the editor: version 2 has it with the expiry chosen, the job page says so', { timeout: 120_000 }, async () => {
  const job = await createJob({
    name: `to-guard-${randomUUID().slice(0, 8)}`,
    steps: [{ name: 'one', kind: 'shell', command: 'true' }],
  });
  await admin.goto(`${stack.webUrl}/jobs/${job.id}`);
  expect(await admin.getByTestId('job-approval-rule').count()).toBe(0);

  await admin.goto(`${stack.webUrl}/jobs/${job.id}/edit`);
  const editor = admin.getByTestId('job-editor');
  const approval = editor.getByTestId('job-approval');
  const requires = approval.getByLabel('Requires approval (four-eyes)');
  expect(await requires.isChecked()).toBe(false);
  expect(await approval.getByLabel('Expires after').count()).toBe(0);
  await requires.check();
  // The default shown first: 24 hours.
  expect(await approval.getByLabel('Expires after').inputValue()).toBe('24');
  expect(await approval.getByLabel('Expiry unit').inputValue()).toBe('hours');

  // Too short: the API's issue lands at the field.
  await approval.getByLabel('Expires after').fill('30');
  await approval.getByLabel('Expiry unit').selectOption('seconds');
  await admin.getByRole('button', { name: 'Save job' }).click();
  await expect.poll(() => approval.getByLabel('Expires after').getAttribute('aria-invalid')).toBe('true');
  expect(await admin.getByTestId('job-error-summary').textContent()).toContain('approval.expiresAfterSeconds');

  await approval.getByLabel('Expires after').fill('90');
  await approval.getByLabel('Expiry unit').selectOption('minutes');
  await expect.poll(() => approval.getByLabel('Expires after').getAttribute('aria-invalid')).toBe(null);
  await screenshot(admin, 'job-edit-approval');
  await admin.getByRole('button', { name: 'Save job' }).click();
  await admin.waitForURL(/\?saved=2$/);
  await expect.poll(() => admin.getByTestId('job-approval-rule').textContent()).toBe('Runs need approval; expires after 90 min');
  const saved = await stack.api('GET', `/api/v1/jobs/${job.id}/versions/2`);
  expect(saved.body.definition.approval).toEqual({ expiresAfterSeconds: 5400 });
  expect((await stack.api('GET', `/api/v1/jobs/${job.id}/versions/1`)).body.definition).not.toHaveProperty('approval');

  // The version pages: version 2 says so, version 1 does not.
  await admin.goto(`${stack.webUrl}/jobs/${job.id}/versions/2`);
  expect(await admin.getByTestId('job-approval-rule').textContent()).toBe('Runs need approval; expires after 90 min');
  await admin.goto(`${stack.webUrl}/jobs/${job.id}/versions/1`);
  expect(await admin.getByTestId('job-approval-rule').count()).toBe(0);

  // Opened again, the editor shows exactly that, and saving it unchanged makes no version.
  await admin.goto(`${stack.webUrl}/jobs/${job.id}/edit`);
  expect(await approval.getByLabel('Requires approval (four-eyes)').isChecked()).toBe(true);
  expect(await approval.getByLabel('Expires after').inputValue()).toBe('90');
  expect(await approval.getByLabel('Expiry unit').inputValue()).toBe('minutes');
  await admin.getByRole('button', { name: 'Save job' }).click();
  await admin.waitForURL(/\?unchanged$/);

  // Unticked again: version 3 has no approval at all.
  await admin.goto(`${stack.webUrl}/jobs/${job.id}/edit`);
  await approval.getByLabel('Requires approval (four-eyes)').uncheck();
  await admin.getByRole('button', { name: 'Save job' }).click();
  await admin.waitForURL(/\?saved=3$/);
  expect(await admin.getByTestId('job-approval-rule').count()).toBe(0);
  expect((await stack.api('GET', `/api/v1/jobs/${job.id}/versions/3`)).body.definition).not.toHaveProperty('approval');
  // The run form says a run of version 2 will wait.
  await admin.goto(`${stack.webUrl}/jobs/${job.id}/run?version=2`);
  expect(await admin.getByTestId('run-approval-note').textContent()).toContain('Runs need approval; expires after 90 min');
});
