/**
 * Deployments in the console (ADR 24) on the real stack (API, worker, Temporal, PostgreSQL, the console) with the
 * fleet simulator's devices: the wizard opened from a package version previews the waves and starts the deployment; it
 * waits for a second operator, who approves it on its dashboard; the dashboard follows the pilot's progress by itself,
 * pauses and resumes it, shows the workflow's refusal and rolls it back; a scheduled one is aborted; a viewer sees the
 * deployment but no controls. A group's maintenance window is added and deleted on the group page.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startFleet, type Fleet } from '../../agent/src/fleet-sim/index.ts';
import { ADMIN, startStack, type Stack } from '../support/stack.ts';
import { launchChromium, screenshot } from '../support/browser.ts';

const AGENTS = 10;
const PREFIX = `dash${randomUUID().slice(0, 4)}`;
const APPROVER = { email: `approver-${randomUUID().slice(0, 8)}@example.com`, password: 'Wq7-Lm3x-Rb8n-Tz5k', name: 'Second Operator' };
const VIEWER = { email: `viewer-${randomUUID().slice(0, 8)}@example.com`, password: 'Hc4v-Ns9p-Xd2q-Mf6r', name: 'Viewer' };

let stack: Stack;
let fleet: Fleet;
let scratch: string;
let browser: Browser;
let admin: Page;
let deviceIds: string[];

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
  // Deployments of 8 devices or more wait for a second operator.
  stack = await startStack({ web: true, serviceEnv: { DEPLOYMENT_APPROVAL_MIN_DEVICES: '8' } });
  for (const [user, role] of [
    [APPROVER, 'operator'],
    [VIEWER, 'viewer'],
  ] as const) {
    const created = await stack.api('POST', '/api/v1/users', { ...user, role });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }
  const token = await stack.api('POST', '/api/v1/enrollment-tokens', { name: 'fleet', maxUses: AGENTS, expiresInHours: 1 });
  scratch = await mkdtemp(join(tmpdir(), 'deployments-browser-'));
  fleet = await startFleet({
    serverUrl: stack.apiUrl,
    enrollmentToken: token.body.token,
    agents: AGENTS,
    rampPerSecond: 100,
    stateFile: join(scratch, 'fleet.json'),
    hostnamePrefix: PREFIX,
    behaviour: { latencyMs: [20, 200] },
  });
  await fleet.ready;
  deviceIds = fleet.devices().map((d) => d.deviceId!);
  browser = await launchChromium();
  admin = await signIn(ADMIN, '/deployments');
}, 240_000);

afterAll(async () => {
  if (process.env.E2E_DUMP_LOGS) console.log(stack?.logs.join('\n'));
  await browser?.close();
  await fleet?.stop();
  await stack?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const statusOf = (page: Page) => page.getByTestId('deployment-status').first().getAttribute('data-status');

it(
  'creates a deployment in the wizard, has it approved, follows it, pauses, resumes and rolls it back; aborts another; a viewer only reads',
  { timeout: 300_000 },
  async () => {
    const name = `dash-tool-${randomUUID().slice(0, 6)}`;
    const pkg = await stack.api('POST', '/api/v1/software/packages', { name, platform: 'linux' });
    expect(pkg.status, JSON.stringify(pkg.body)).toBe(201);
    const version = await stack.api('POST', `/api/v1/software/packages/${pkg.body.id}/versions`, {
      version: '2.0',
      installerType: 'apt',
      packageName: name,
    });
    expect(version.status, JSON.stringify(version.body)).toBe(201);
    const pilot = await stack.api('POST', '/api/v1/groups', { kind: 'static', name: `Pilot ${PREFIX}` });
    await stack.api('POST', `/api/v1/groups/${pilot.body.id}/members`, { add: deviceIds.slice(0, 2) });

    // The package page's Deploy… opens the wizard with the version chosen.
    await admin.goto(`${stack.webUrl}/software/${pkg.body.id}`);
    await admin.getByRole('link', { name: 'Deploy…' }).click();
    await admin.waitForURL(new RegExp(`/deployments/new\\?versionId=${version.body.id}$`));
    expect(await admin.getByLabel('Version').inputValue()).toBe(version.body.id);
    await expect.poll(() => admin.getByLabel('Name', { exact: true }).inputValue()).toBe(`${name} 2.0`);

    // Targets: every device whose hostname has the fleet's prefix, counted live.
    await admin.getByLabel('Filter text').fill(PREFIX);
    await expect.poll(() => admin.getByTestId('run-preview-count').textContent(), { timeout: 15_000 }).toBe(String(AGENTS));
    await admin.getByLabel('Pilot group').selectOption(pilot.body.id);
    await admin.getByLabel('Waves').fill('50%, 100%');
    // A long soak after the pilot keeps the deployment going while the test controls it.
    await admin.getByLabel('Soak time (minutes)').fill('30');

    // The API's refusal of a setting lands on its field.
    await admin.getByLabel('Waves').fill('50%, 150%');
    await admin.getByRole('button', { name: 'Preview' }).click();
    await expect.poll(() => admin.getByLabel('Waves').getAttribute('aria-invalid'), { timeout: 15_000 }).toBe('true');
    expect(await admin.getByTestId('deployment-plan').count()).toBe(0);
    await admin.getByLabel('Waves').fill('50%, 100%');

    // The pilot group has a window that is closed now: its two devices are outside it, unless the windows are overridden.
    const opens = new Date(Date.now() + 12 * 3600_000).toISOString();
    const window = await stack.api('POST', `/api/v1/groups/${pilot.body.id}/maintenance-windows`, {
      name: 'Night',
      timeZone: 'UTC',
      recurrence: 'daily',
      startTime: opens.slice(11, 16),
      durationMinutes: 60,
    });
    expect(window.status, JSON.stringify(window.body)).toBe(201);
    await admin.getByRole('button', { name: 'Preview' }).click();
    const plan = admin.getByTestId('deployment-plan');
    await plan.waitFor({ timeout: 15_000 });
    expect(await plan.getByTestId('plan-outside-windows').getAttribute('data-count')).toBe('2');
    expect(await plan.getByTestId('plan-outside-windows').textContent()).toContain('opens');
    await admin.getByLabel('Respect maintenance windows').uncheck();
    await admin.getByRole('button', { name: 'Preview' }).click();
    await expect.poll(() => plan.getByTestId('plan-outside-windows').getAttribute('data-count'), { timeout: 15_000 }).toBe('0');
    const waves = await plan
      .getByTestId('plan-wave')
      .evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-label'), r.getAttribute('data-size')]));
    expect(waves).toEqual([
      ['Pilot', '2'],
      ['Wave 1', '4'],
      ['Wave 2', '4'],
    ]);
    expect(await plan.getByTestId('plan-total').textContent()).toBe(String(AGENTS));
    expect(await plan.getByText('Needs approval').count()).toBe(1);
    expect(await plan.getByTestId('plan-compliant').getAttribute('data-count')).toBe('0');
    await screenshot(admin, 'deployment-wizard-preview');

    // Changing a setting asks for a new preview before it can start.
    await admin.getByLabel('Success criteria (%)').fill('90');
    await admin.getByText('The settings changed: preview again.').waitFor();
    expect(await admin.getByRole('button', { name: /^Start deployment/ }).count()).toBe(0);
    await admin.getByRole('button', { name: 'Preview' }).click();
    await admin.getByRole('button', { name: `Start deployment on ${AGENTS} devices` }).click();
    await admin.waitForURL(/\/deployments\/[0-9a-f-]{36}$/);
    const id = admin.url().split('/').pop()!;
    const created = (await stack.api('GET', `/api/v1/deployments/${id}`)).body;
    expect(created).toMatchObject({ name: `${name} 2.0`, status: 'pending_approval', total: AGENTS });
    expect(created.strategy).toMatchObject({
      pilotGroupId: pilot.body.id,
      soakSeconds: 1800,
      successPercent: 90,
      respectMaintenanceWindows: false,
      waves: [{ percent: 50 }, { percent: 100 }],
    });

    // Its creator waits; another operator approves it on the dashboard.
    expect(await statusOf(admin)).toBe('pending_approval');
    await admin.getByText('Waiting for another operator').waitFor();
    expect(await admin.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    const approver = await signIn(APPROVER, `/deployments/${id}`);
    await approver.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => statusOf(approver), { timeout: 30_000 }).not.toBe('pending_approval');
    await approver.context().close();

    // The admin's dashboard reads itself again: the pilot installs, then soaks.
    const pilotWave = admin.locator('[data-testid="wave"][data-wave="0"]');
    await expect
      .poll(
        () =>
          pilotWave
            .locator('[data-testid="wave-count"][data-status="succeeded"]')
            .textContent()
            .catch(() => null),
        { timeout: 90_000 },
      )
      .toBe('2 succeeded');
    await expect.poll(() => pilotWave.getAttribute('data-state'), { timeout: 30_000 }).toBe('soaking');
    expect(await statusOf(admin)).toBe('running');
    expect(await admin.getByTestId('stat-succeeded').textContent()).toBe('2');
    expect(await admin.getByTestId('stat-pending').textContent()).toBe('8');
    expect(await admin.getByTestId('stat-success-rate').textContent()).toBe('100%');
    await expect.poll(() => admin.getByTestId('deployment-device').count()).toBe(AGENTS);
    const logLinks = admin.getByRole('link', { name: 'Log' });
    expect(await logLinks.count()).toBe(2);
    expect(await logLinks.first().getAttribute('href')).toMatch(/^\/runs\/[0-9a-f-]{36}\?device=/);
    await admin.getByTestId('deployment-chart').waitFor();
    await screenshot(admin, 'deployment-dashboard');

    // Pause with a reason, then resume.
    await admin.getByRole('button', { name: 'Pause', exact: true }).click();
    await admin
      .getByTestId('control-form')
      .getByLabel(/Reason/)
      .fill('checking the pilot');
    await admin.getByRole('button', { name: 'Pause deployment' }).click();
    await expect.poll(() => statusOf(admin), { timeout: 30_000 }).toBe('paused');
    expect(await admin.getByTestId('paused-reason').textContent()).toContain('checking the pilot');
    expect(await admin.locator('[data-testid="deployment-event"][data-type="paused"]').count()).toBeGreaterThan(0);
    expect(await admin.getByRole('button', { name: 'Pause', exact: true }).count()).toBe(0);
    await admin.getByRole('button', { name: 'Resume', exact: true }).click();
    await admin.getByRole('button', { name: 'Resume deployment' }).click();
    await expect.poll(() => statusOf(admin), { timeout: 30_000 }).toBe('running');
    expect(await admin.getByTestId('paused-reason').count()).toBe(0);

    // A page that has not caught up offers Pause on a deployment paused meanwhile: the workflow's refusal is shown.
    // Hidden, the page stops reading itself again.
    await admin.evaluate("Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true })");
    const paused = await stack.api('POST', `/api/v1/deployments/${id}/pause`, { reason: 'elsewhere' });
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    await admin.getByRole('button', { name: 'Pause', exact: true }).click();
    await admin.getByRole('button', { name: 'Pause deployment' }).click();
    await admin.getByTestId('control-error').waitFor({ timeout: 15_000 });
    expect(await admin.getByTestId('control-error').textContent()).toContain('The deployment is already paused.');
    await expect.poll(() => statusOf(admin)).toBe('paused');

    // The list shows it, with its progress.
    await admin.goto(`${stack.webUrl}/deployments?search=${encodeURIComponent(name)}`);
    const row = admin.locator(`[data-testid="deployment-row"][data-deployment-id="${id}"]`);
    expect(await row.getByTestId('deployment-status').getAttribute('data-status')).toBe('paused');
    expect(await row.getByTestId('count-succeeded').getAttribute('data-count')).toBe('2');
    expect(await row.getByTestId('count-pending').getAttribute('data-count')).toBe('8');
    await screenshot(admin, 'deployments-list');
    await admin.goto(`${stack.webUrl}/deployments?status=completed`);
    expect(await admin.getByTestId('deployment-row').count()).toBe(0);

    // A viewer reads the list and the dashboard, without a control.
    const viewer = await signIn(VIEWER, `/deployments/${id}`);
    await viewer.getByTestId('deployment-name').waitFor();
    expect(await viewer.getByTestId('deployment-controls').count()).toBe(0);
    for (const label of ['Pause', 'Resume', 'Abort', 'Roll back', 'Approve', 'Reject']) {
      expect(await viewer.getByRole('button', { name: label, exact: true }).count()).toBe(0);
    }
    await viewer.goto(`${stack.webUrl}/deployments`);
    expect(await viewer.getByRole('link', { name: 'New deployment' }).count()).toBe(0);
    expect(await viewer.locator(`[data-testid="deployment-row"][data-deployment-id="${id}"]`).count()).toBe(1);
    await viewer.context().close();

    // Roll back uninstalls from the two pilot devices it touched; then nothing is left to control.
    await admin.goto(`${stack.webUrl}/deployments/${id}`);
    await admin.getByRole('button', { name: 'Roll back', exact: true }).click();
    await admin
      .getByTestId('control-form')
      .getByLabel(/Reason/)
      .fill('not this week');
    await admin.getByRole('button', { name: 'Roll back deployment' }).click();
    await expect.poll(() => statusOf(admin), { timeout: 90_000 }).toBe('rolled_back');
    await expect.poll(() => admin.getByTestId('rollback-summary').textContent()).toContain('Uninstalled2');
    expect(await admin.getByTestId('deployment-controls').count()).toBe(0);
    expect(await admin.locator('[data-testid="deployment-event"][data-type="rollback_started"]').count()).toBe(1);

    // A scheduled deployment (small enough to need no approval) is aborted before it starts.
    const later = await stack.api('POST', '/api/v1/deployments', {
      name: `${name} later`,
      versionId: version.body.id,
      targets: { deviceIds: deviceIds.slice(0, 3) },
      startsAt: new Date(Date.now() + 3600_000).toISOString(),
    });
    expect(later.status, JSON.stringify(later.body)).toBe(201);
    await admin.goto(`${stack.webUrl}/deployments/${later.body.id}`);
    await expect.poll(() => statusOf(admin), { timeout: 30_000 }).toBe('scheduled');
    await admin.getByRole('button', { name: 'Abort', exact: true }).click();
    await admin.getByRole('button', { name: 'Abort deployment' }).click();
    await expect.poll(() => statusOf(admin), { timeout: 60_000 }).toBe('aborted');
    // Ended: only a rollback (a new run of its workflow) is left to offer.
    expect(await admin.getByRole('button', { name: 'Abort', exact: true }).count()).toBe(0);
    expect(await admin.getByRole('button', { name: 'Roll back', exact: true }).count()).toBe(1);

    // The list's filters: among the finished ones now, not among those going on.
    await admin.goto(`${stack.webUrl}/deployments?active=false&search=${encodeURIComponent(name)}`);
    expect(await admin.locator(`[data-testid="deployment-row"][data-deployment-id="${id}"]`).count()).toBe(1);
    await admin.goto(`${stack.webUrl}/deployments?active=true&packageId=${pkg.body.id}`);
    expect(await admin.getByTestId('deployment-row').count()).toBe(0);
    await admin.goto(`${stack.webUrl}/deployments?status=bogus`);
    expect(await admin.getByTestId('filter-error').textContent()).toContain('Status');
  },
);

it('adds a maintenance window to a group on its page and deletes it; a viewer cannot', { timeout: 120_000 }, async () => {
  const group = await stack.api('POST', '/api/v1/groups', { kind: 'static', name: `Windows ${PREFIX}` });
  expect(group.status, JSON.stringify(group.body)).toBe(201);
  await admin.goto(`${stack.webUrl}/groups/${group.body.id}`);
  await admin.getByText('No maintenance windows').waitFor();
  const form = admin.getByTestId('add-window-form');
  // Refused by the API: the message lands on the form.
  await form.getByLabel('Window name').fill('Bad zone');
  await form.getByLabel('Time zone').fill('Mars/Olympus');
  await form.getByRole('button', { name: 'Add window' }).click();
  await form.getByText('must be an IANA time zone').waitFor({ timeout: 15_000 });

  await form.getByLabel('Window name').fill('Evening patching');
  await form.getByLabel('Time zone').fill('Europe/Berlin');
  await form.getByLabel('Repeats').selectOption('weekly');
  await form.getByLabel('Mon').check();
  await form.getByLabel('Wed').check();
  await form.getByLabel('Start').fill('22:30');
  await form.getByLabel('Duration (min)').fill('90');
  await form.getByRole('button', { name: 'Add window' }).click();
  const row = admin.getByTestId('maintenance-window');
  await row.waitFor({ timeout: 15_000 });
  expect(await row.getByTestId('window-name').textContent()).toBe('Evening patching');
  expect(await row.getByTestId('window-schedule').textContent()).toBe('Mon, Wed 22:30 for 90 min · Europe/Berlin');
  await screenshot(admin, 'group-maintenance-windows');
  const listed = (await stack.api('GET', `/api/v1/groups/${group.body.id}/maintenance-windows`)).body.items;
  expect(listed).toMatchObject([
    {
      name: 'Evening patching',
      timeZone: 'Europe/Berlin',
      recurrence: 'weekly',
      daysOfWeek: [1, 3],
      startTime: '22:30',
      durationMinutes: 90,
    },
  ]);

  const viewer = await signIn(VIEWER, `/groups/${group.body.id}`);
  await viewer.getByTestId('maintenance-window').waitFor();
  expect(await viewer.getByTestId('add-window-form').count()).toBe(0);
  expect(await viewer.getByRole('button', { name: /Delete window/ }).count()).toBe(0);
  await viewer.context().close();

  admin.once('dialog', (dialog) => void dialog.accept());
  await admin.getByRole('button', { name: 'Delete window Evening patching' }).click();
  await admin.getByText('No maintenance windows').waitFor({ timeout: 15_000 });
  expect((await stack.api('GET', `/api/v1/groups/${group.body.id}/maintenance-windows`)).body.items).toEqual([]);
});
