/**
 * Schedules of jobs in the console (issue 7) in a real browser against the real stack with a real agent: a schedule
 * created from the job's page (cron `0 3 * * *` in Europe/Berlin, a device, a value and a secret), a cron expression
 * Temporal refuses shown at the form's times (the secret never sent back), the detail page (the spec in words, the
 * Temporal Schedule, next times at 03:00 Berlin), "Run now" and its run on the agent, pause with a note and unpause,
 * an edit to an interval of 1 hour (the secret asked for again), the list, the job's panel, delete; and a viewer's
 * read-only pages. With SCREENSHOT_DIR set, full-page screenshots of the pages visited are written there.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, outputOf, startStack, waitForRun, type AgentHandle, type Stack } from '../support/stack.ts';
import { launchChromium, screenshot, signIn } from '../support/browser.ts';

let stack: Stack;
let agent: AgentHandle;
let browser: Browser;
let page: Page;

const SECRET = `s3cr3t-${randomUUID()}`;
const VIEWER = { email: 'schedule-viewer@example.com', password: 'Kq8-Wz3r-Jd6n-Tv5p' };
const SCHEDULE_URL = /\/schedules\/([0-9a-f-]{36})\?(created|saved)$/;

beforeAll(async () => {
  stack = await startStack({ web: true });
  agent = await stack.enrollAgent();
  await agent.start();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  await signIn(page, stack.webUrl!, ADMIN, '/jobs');
}, 240_000);
afterAll(async () => {
  if (process.env.E2E_DUMP_LOGS) console.log(stack?.logs.join('\n'));
  await browser?.close();
  await stack?.close();
});

async function createJob(definition: Record<string, unknown>): Promise<{ id: string; name: string }> {
  const res = await stack.api('POST', '/api/v1/jobs', definition);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const berlinTime = (iso: string) =>
  new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(
    new Date(iso),
  );
const text = (testId: string) => page.getByTestId(testId).textContent();

it(
  'schedules a job from its page, runs it now on the agent, pauses, edits it to an interval, and deletes it',
  { timeout: 240_000 },
  async () => {
    const job = await createJob({
      name: `report-${randomUUID().slice(0, 8)}`,
      parameters: [
        { name: 'label', type: 'string', label: 'Report label', required: true },
        { name: 'token', type: 'secret', label: 'API token' },
      ],
      steps: [{ name: 'report', kind: 'shell', command: "printf 'label=%s token=%s\\n' {{ label }} {{ token }}" }],
    });
    const name = `nightly-${randomUUID().slice(0, 8)}`;

    // From the job's page: "Schedule", next to "Run".
    await page.goto(`${stack.webUrl}/jobs/${job.id}`);
    expect(await page.getByTestId('job-schedules-empty').textContent()).toContain('No schedules.');
    await page.getByRole('link', { name: 'Schedule', exact: true }).click();
    await page.waitForURL(new RegExp(`/jobs/${job.id}/schedule$`));
    const form = page.getByTestId('schedule-form');
    await form.getByLabel('Name', { exact: true }).fill(name);
    await form.getByLabel('Description').fill('the nightly report');
    await form.getByLabel('Time zone').selectOption('Europe/Berlin');
    await page.getByLabel(`Select ${hostname()}`).check();
    await expect.poll(() => text('run-preview-count')).toBe('1');
    await form.getByLabel('Report label').fill('from-the-console');
    const secret = form.getByLabel('API token');
    expect(await secret.getAttribute('type')).toBe('password');

    // A cron expression Temporal cannot read: its refusal shows at the form's times, the secret is to be given again.
    await form.getByLabel('Cron expressions').fill('61 25 * * *');
    await secret.fill(SECRET);
    await page.getByRole('button', { name: 'Create schedule' }).click();
    await expect.poll(() => page.getByTestId('schedule-spec-error').count(), { timeout: 20_000 }).toBe(1);
    expect((await text('schedule-spec-error'))?.length).toBeGreaterThan(30);
    expect(await form.getByLabel('Cron expressions').getAttribute('aria-invalid')).toBe('true');
    await expect.poll(() => form.getByLabel('API token').inputValue()).toBe('');
    expect(await form.getByLabel('Report label').inputValue()).toBe('from-the-console');
    expect(await form.getByLabel('Time zone').inputValue()).toBe('Europe/Berlin');
    expect(await page.getByLabel(`Select ${hostname()}`).isChecked()).toBe(true);
    expect(await page.content()).not.toContain(SECRET);
    expect((await stack.api('GET', `/api/v1/job-schedules?jobId=${job.id}`)).body.total).toBe(0);
    await screenshot(page, 'schedule-form-refused');

    await form.getByLabel('Cron expressions').fill('0 3 * * *');
    expect(await page.getByTestId('schedule-cron-words').textContent()).toContain('every day at 03:00');
    await form.getByLabel('API token').fill(SECRET);
    await page.getByRole('button', { name: 'Create schedule' }).click();
    await page.waitForURL(SCHEDULE_URL);
    const id = SCHEDULE_URL.exec(page.url())![1]!;

    // The detail: the spec in words, the Temporal Schedule, the next times at 03:00 in Berlin.
    expect(await text('schedule-spec')).toBe('cron 0 3 * * * (Europe/Berlin)');
    expect(await text('schedule-spec-words')).toBe('every day at 03:00');
    expect(await text('schedule-id')).toBe(`job-schedule/${id}`);
    expect(await page.getByTestId('schedule-temporal-link').getAttribute('href')).toContain(encodeURIComponent(`job-schedule/${id}`));
    expect(await page.getByTestId('schedule-paused').getAttribute('data-status')).toBe('active');
    const upcoming = page.getByTestId('schedule-upcoming');
    expect(await upcoming.count()).toBeGreaterThan(0);
    for (const at of await upcoming.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-at')!)))
      expect(berlinTime(at)).toBe('03:00');
    for (const shown of await page.getByTestId('schedule-upcoming-zoned').allTextContents()) expect(shown).toMatch(/ 03:00$/);
    expect(await page.locator('[data-testid="schedule-parameter-row"][data-name="label"]').textContent()).toContain('from-the-console');
    expect(await page.locator('[data-testid="schedule-parameter-row"][data-name="token"]').textContent()).toContain('•••• (secret)');
    expect(await text('schedule-targets')).toContain(`now 1 device: ${hostname()}`);
    expect(await page.content()).not.toContain(SECRET);
    await screenshot(page, 'schedule-detail');

    // Run now: a run shows under Recent runs and finishes on the agent (the page keeps itself current).
    await page.getByRole('button', { name: 'Run now' }).click();
    await expect.poll(() => text('schedule-flash')).toContain('Started a run now');
    const runRow = page.getByTestId('schedule-run-row');
    await expect.poll(() => runRow.count(), { timeout: 30_000 }).toBe(1);
    await expect.poll(() => runRow.getByTestId('schedule-run-status').getAttribute('data-status'), { timeout: 90_000 }).toBe('succeeded');
    const runId = (await runRow.getAttribute('data-run-id'))!;
    expect(await outputOf(stack, (await waitForRun(stack, runId)).id, agent.deviceId)).toBe('label=from-the-console token=[redacted]\n');
    await expect.poll(() => page.getByTestId('schedule-action-row').count(), { timeout: 15_000 }).toBe(1);
    await runRow.getByRole('link').click();
    await page.waitForURL(new RegExp(`/runs/${runId}$`));
    await page.goBack();
    await page.waitForURL(new RegExp(`/schedules/${id}`));
    await expect.poll(() => text('schedule-spec')).toBe('cron 0 3 * * * (Europe/Berlin)');
    await screenshot(page, 'schedule-after-run');

    // Pause with a note, then unpause.
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await page.getByLabel('Pause note').fill('change freeze');
    await page.getByRole('button', { name: 'Pause schedule' }).click();
    await expect.poll(() => text('schedule-state')).toBe('Paused');
    expect(await text('schedule-note')).toBe('change freeze');
    expect(await page.getByTestId('schedule-paused').getAttribute('data-status')).toBe('paused');
    expect((await stack.api('GET', `/api/v1/job-schedules/${id}`)).body.temporal).toMatchObject({ paused: true, note: 'change freeze' });
    await page.getByRole('button', { name: 'Unpause' }).click();
    await expect.poll(() => text('schedule-state')).toBe('Active');
    expect((await stack.api('GET', `/api/v1/job-schedules/${id}`)).body.temporal.paused).toBe(false);

    // Edit: the schedule's values come back but its secret does not; a required value left empty is refused at its
    // field, the secret left empty keeps its stored value.
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await page.waitForURL(new RegExp(`/schedules/${id}/edit$`));
    expect(await form.getByLabel('Name', { exact: true }).inputValue()).toBe(name);
    expect(await form.getByLabel('Cron expressions').inputValue()).toBe('0 3 * * *');
    expect(await form.getByLabel('Time zone').inputValue()).toBe('Europe/Berlin');
    expect(await form.getByLabel('Report label').inputValue()).toBe('from-the-console');
    expect(await form.getByLabel('API token').inputValue()).toBe('');
    expect(await form.textContent()).toContain('A secret left empty keeps the value the schedule has');
    expect(await page.getByLabel(`Select ${hostname()}`).isChecked()).toBe(true);
    expect(await form.getByLabel('Paused').isChecked()).toBe(false);
    await form.getByLabel('Cron expressions').fill('');
    const interval = page.getByTestId('schedule-interval').first();
    await interval.getByLabel('Every', { exact: true }).fill('1');
    await interval.getByLabel('Every unit').selectOption({ label: 'hours' });
    await form.getByLabel('Report label').fill('');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    const label = page.getByTestId('run-parameter').filter({ has: page.getByLabel('Report label') });
    await expect.poll(() => label.getByTestId('run-parameter-error').textContent()).toBe('is required');
    expect(await page.getByTestId('schedule-interval').first().getByLabel('Every', { exact: true }).inputValue()).toBe('1');
    await form.getByLabel('Report label').fill('from-the-console');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await page.waitForURL(SCHEDULE_URL);
    expect(await text('schedule-spec')).toBe('every 1 h');
    const saved = (await stack.api('GET', `/api/v1/job-schedules/${id}`)).body;
    expect(saved).toMatchObject({
      spec: { cron: [], intervals: [{ everySeconds: 3600, offsetSeconds: 0 }], timeZone: 'Europe/Berlin' },
      parameters: { label: 'from-the-console' },
      secretParameters: ['token'],
      targetSelection: { deviceIds: [agent.deviceId] },
      paused: false,
    });
    await screenshot(page, 'schedule-edited');

    // The list, filtered by the job from its panel.
    await page.goto(`${stack.webUrl}/jobs/${job.id}`);
    const panel = page.getByTestId('job-schedules');
    expect(await panel.getByTestId('schedule-spec').textContent()).toBe('every 1 h');
    await page.getByRole('link', { name: 'All', exact: true }).click();
    await page.waitForURL(new RegExp(`/schedules\\?jobId=${job.id}$`));
    expect(await text('schedules-job-filter')).toBe(job.name);
    const row = page.locator(`[data-testid="schedule-row"][data-schedule-id="${id}"]`);
    expect(await row.getByTestId('schedule-spec').textContent()).toBe('every 1 h');
    expect(await row.getByTestId('schedule-job').textContent()).toBe(job.name);
    expect(await row.getByTestId('schedule-paused').getAttribute('data-status')).toBe('active');
    await screenshot(page, 'schedules-list');

    // Delete, confirmed: gone from the list and from Temporal; its run stays.
    await row.getByRole('link', { name }).click();
    await page.waitForURL(new RegExp(`/schedules/${id}$`));
    await page.getByRole('button', { name: 'Delete schedule' }).click();
    await page.getByRole('button', { name: 'Confirm delete' }).click();
    await page.waitForURL(/\/schedules\?deleted=/);
    expect(await page.locator(`[data-testid="schedule-row"][data-schedule-id="${id}"]`).count()).toBe(0);
    expect((await stack.api('GET', `/api/v1/job-schedules/${id}`)).status).toBe(404);
    expect((await stack.api('GET', `/api/v1/job-runs/${runId}`)).status).toBe(200);
  },
);

it('gives a viewer the schedule pages to read, without a control to change them', { timeout: 120_000 }, async () => {
  const job = await createJob({ name: `viewed-${randomUUID().slice(0, 8)}`, steps: [{ name: 'one', kind: 'shell', command: 'true' }] });
  const created = await stack.api('POST', `/api/v1/jobs/${job.id}/schedules`, {
    name: `viewed-${randomUUID().slice(0, 8)}`,
    deviceIds: [agent.deviceId],
    spec: { intervals: [{ everySeconds: 900 }] },
    paused: true,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id: string = created.body.id;
  expect((await stack.api('POST', '/api/v1/users', { ...VIEWER, name: 'Viewer', role: 'viewer' })).status).toBe(201);
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const viewer = await context.newPage();
  await signIn(viewer, stack.webUrl!, VIEWER, '/schedules');
  const row = viewer.locator(`[data-testid="schedule-row"][data-schedule-id="${id}"]`);
  expect(await row.getByTestId('schedule-spec').textContent()).toBe('every 15 min');
  expect(await row.getByTestId('schedule-paused').getAttribute('data-status')).toBe('paused');
  await row.getByRole('link', { name: created.body.name }).click();
  await viewer.waitForURL(new RegExp(`/schedules/${id}$`));
  expect(await viewer.getByTestId('schedule-spec').textContent()).toBe('every 15 min');
  expect(await viewer.getByTestId('schedule-state').textContent()).toBe('Paused');
  for (const name of ['Run now', 'Pause', 'Unpause', 'Delete schedule']) {
    expect(await viewer.getByRole('button', { name, exact: true }).count(), name).toBe(0);
  }
  expect(await viewer.getByRole('link', { name: 'Edit', exact: true }).count()).toBe(0);

  await viewer.goto(`${stack.webUrl}/jobs/${job.id}`);
  expect(await viewer.getByTestId('job-schedules').textContent()).toContain(created.body.name);
  expect(await viewer.getByRole('link', { name: 'Schedule', exact: true }).count()).toBe(0);
  for (const path of [`/jobs/${job.id}/schedule`, `/schedules/${id}/edit`]) {
    const res = await viewer.goto(`${stack.webUrl}${path}`);
    expect(res?.status()).toBe(403);
    await expect.poll(() => viewer.getByTestId('error-page').textContent()).toMatch(/Viewers cannot (schedule jobs|change schedules)/);
  }
  // A post of the detail page's actions is the API's to refuse.
  const refused = await viewer.evaluate(
    async (url) => (await fetch(url, { method: 'POST', body: new URLSearchParams({ intent: 'trigger' }) })).status,
    `${stack.webUrl}/schedules/${id}`,
  );
  expect(refused).toBe(403);
  await context.close();
});
