/**
 * Running a command on many devices from the console, always after seeing how many: every device matching
 * the list's filter, a group (from its page) and a tag. A changed selection asks again. Then the runs list
 * and the audit log filtered through their URL, and their CSV downloads.
 * With SCREENSHOT_DIR set, full-page screenshots of the confirmation and the filtered lists are written there.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, outputOf, startStack, waitForRun, type AgentHandle, type Stack } from '../support/stack.ts';
import { launchChromium } from '../support/browser.ts';
import { parseCsv } from '../support/csv.ts';

let stack: Stack;
let agent: AgentHandle;
let browser: Browser;
let page: Page;
const spares: Record<string, string> = {};

/** A device that enrolled but runs no agent (it stays offline for the run). */
async function enrollSpare(name: string) {
  const token = await stack.api('POST', '/api/v1/enrollment-tokens', { name, maxUses: 1, expiresInHours: 1 });
  const res = await fetch(`${stack.apiUrl}/agent/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      enrollmentToken: token.body.token,
      facts: {
        hostname: name,
        osFamily: 'linux',
        osName: 'Debian',
        osVersion: '12',
        architecture: 'x64',
        ipAddresses: ['192.0.2.1'],
        agentVersion: '0.1.0',
      },
    }),
  });
  expect(res.status).toBe(201);
  spares[name] = ((await res.json()) as { deviceId: string }).deviceId;
}
const runCount = async () => (await stack.api('GET', '/api/v1/job-runs?pageSize=1')).body.total as number;
const confirmCount = () => page.getByTestId('run-confirm-count').textContent();
async function screenshot(name: string) {
  const dir = process.env.SCREENSHOT_DIR;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  stack = await startStack({ web: true });
  agent = await stack.enrollAgent();
  await agent.start();
  await enrollSpare('spare-a');
  await enrollSpare('spare-b');
  expect(
    (await stack.api('POST', '/api/v1/devices/tags', { deviceIds: [agent.deviceId, spares['spare-a']], add: ['canary'] })).status,
  ).toBe(200);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  await page.goto(`${stack.webUrl}/login`);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/devices/);
}, 240_000);
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

it('runs on every device matching the filter after showing the count', async () => {
  await page.goto(`${stack.webUrl}/devices?tag=canary`);
  await expect.poll(() => page.getByTestId('device-row').count()).toBe(2);
  await page.getByRole('radio', { name: 'All 2 devices matching this filter' }).check();
  await page.getByLabel('Command').fill('echo targets-ok');
  await page.getByLabel('Offline deadline (s)').fill('10');
  const before = await runCount();
  await page.getByRole('button', { name: 'Run', exact: true }).click();

  await expect.poll(confirmCount).toBe('2');
  expect(await page.getByTestId('run-confirm-sample').textContent()).toBe([hostname(), 'spare-a'].sort().join(', '));
  expect(await runCount()).toBe(before);
  await screenshot('run-on-filter-confirm');
  await page.getByRole('button', { name: 'Run on 2 devices' }).click();

  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  const runId = page.url().split('/').pop()!;
  const run = await waitForRun(stack, runId);
  expect(run.targetSelection).toEqual({ filter: { tag: 'canary' } });
  expect(
    run.targets
      .map((t: { deviceId: string; status: string }) => `${t.deviceId === agent.deviceId ? 'agent' : t.deviceId}:${t.status}`)
      .sort(),
  ).toEqual(['agent:succeeded', `${spares['spare-a']}:offline`].sort());
  expect(await outputOf(stack, runId, agent.deviceId)).toContain('targets-ok');
}, 90_000);

it('runs on a group from its page, and Cancel runs nothing', async () => {
  const group = await stack.api('POST', '/api/v1/groups', { kind: 'static', name: 'Canary ring' });
  await stack.api('POST', `/api/v1/groups/${group.body.id}/members`, { add: [agent.deviceId] });
  await page.goto(`${stack.webUrl}/groups/${group.body.id}`);
  await page.getByLabel('Command').fill('echo from-the-group');
  const before = await runCount();
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await expect.poll(confirmCount).toBe('1');
  expect(await page.getByTestId('run-confirm-sample').textContent()).toBe(hostname());
  await screenshot('run-on-group-confirm');
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect.poll(() => page.getByTestId('run-confirm').count()).toBe(0);
  expect(await runCount()).toBe(before);

  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.getByRole('button', { name: 'Run on 1 device' }).click();
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  const run = await waitForRun(stack, page.url().split('/').pop()!);
  expect(run.status).toBe('succeeded');
  expect(run.targetSelection).toEqual({ groupIds: [group.body.id] });
}, 90_000);

it('runs on a tag, and asks again when the tagged devices changed before the confirmation', async () => {
  await page.goto(`${stack.webUrl}/devices`);
  await page.getByLabel('Target tag').selectOption('canary');
  expect(await page.getByRole('radio', { name: 'Tag' }).isChecked()).toBe(true);
  await page.getByLabel('Command').fill('echo tagged');
  await page.getByLabel('Offline deadline (s)').fill('10');
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await expect.poll(confirmCount).toBe('2');

  // Meanwhile someone tags another device: the confirmed count no longer holds.
  await stack.api('POST', '/api/v1/devices/tags', { deviceIds: [spares['spare-b']], add: ['canary'] });
  const before = await runCount();
  await page.getByRole('button', { name: 'Run on 2 devices' }).click();
  await expect.poll(confirmCount).toBe('3');
  expect(await page.getByTestId('run-confirm').textContent()).toContain('changed since you confirmed');
  expect(await runCount()).toBe(before);

  await page.getByRole('button', { name: 'Run on 3 devices' }).click();
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  const { body } = await stack.api('GET', `/api/v1/job-runs/${page.url().split('/').pop()}`);
  expect(body.targetSelection).toEqual({ tags: ['canary'] });
  expect(body.targets).toHaveLength(3);
}, 90_000);

it('keeps running on checked rows at once', async () => {
  await page.goto(`${stack.webUrl}/devices`);
  await page.getByLabel(`Select ${hostname()}`).check();
  await page.getByLabel('Command').fill('echo checked');
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  expect((await waitForRun(stack, page.url().split('/').pop()!)).targetSelection).toEqual({ deviceIds: [agent.deviceId] });
}, 60_000);

it("a device's page runs on that device only, whatever the form says", async () => {
  await page.goto(`${stack.webUrl}/devices/${agent.deviceId}`);
  const before = await runCount();
  // A forged form (same origin, so the CSRF check lets it through) asking for every device, "confirmed".
  const status = await page.evaluate(async (url) => {
    const body = new URLSearchParams({
      intent: 'run-confirm',
      target: 'filter',
      filter: '{}',
      expectedDeviceCount: '3',
      command: 'echo own-device',
    });
    return (await fetch(url, { method: 'POST', body, redirect: 'manual' })).type;
  }, `${stack.webUrl}/devices/${agent.deviceId}`);
  expect(status).toBe('opaqueredirect');
  expect(await runCount()).toBe(before + 1);
  const { body } = await stack.api('GET', '/api/v1/job-runs?pageSize=1');
  expect(body.items[0].command).toBe('echo own-device');
  const run = await stack.api('GET', `/api/v1/job-runs/${body.items[0].id}`);
  expect(run.body.targets.map((t: { deviceId: string }) => t.deviceId)).toEqual([agent.deviceId]);
  await waitForRun(stack, body.items[0].id);
}, 60_000);

it('filters the runs list and the audit log through the URL and downloads them as CSV', async () => {
  await page.goto(`${stack.webUrl}/runs`);
  await page.getByLabel('Device').fill('SPARE-B');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/hostname=SPARE-B/);
  await expect.poll(() => page.getByTestId('run-row').count()).toBe(1);
  expect(await page.getByTestId('run-row').textContent()).toContain('echo tagged');
  await page.getByLabel('Status').selectOption('succeeded');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/status=succeeded/);
  await expect.poll(() => page.getByTestId('run-row').count()).toBe(0);

  await page.goto(`${stack.webUrl}/runs?createdBy=${encodeURIComponent(ADMIN.email)}&from=2000-01-01`);
  await expect.poll(() => page.getByTestId('run-row').count()).toBe(5);
  await screenshot('runs-filtered');
  const runsCsv = await download(page);
  expect(runsCsv.name).toMatch(/^job-runs-\d{4}-\d{2}-\d{2}\.csv$/);
  expect(
    runsCsv.rows
      .slice(1)
      .map((r) => r[4])
      .sort(),
  ).toEqual(['echo checked', 'echo from-the-group', 'echo own-device', 'echo tagged', 'echo targets-ok']);

  // A bad date reaches the API through the URL: the page says so instead of failing.
  await page.goto(`${stack.webUrl}/runs?from=2026-02-30`);
  await expect.poll(() => page.getByTestId('filter-error').textContent()).toContain('From');

  await page.goto(`${stack.webUrl}/audit`);
  // The admin's runs: the workflow's own rows (job_run.finish, by the system) are left out.
  await page.getByLabel('Actor').fill(ADMIN.email);
  await page.getByLabel('Action').fill('job_run.*');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/action=job_run/);
  await expect.poll(() => page.getByTestId('audit-row').count()).toBe(5);
  await screenshot('audit-filtered');
  const auditCsv = await download(page);
  expect(auditCsv.rows[0]).toContain('action');
  expect(auditCsv.rows.slice(1).map((r) => r[5])).toEqual(Array(5).fill('job_run.create'));
}, 90_000);

it('creates one run from a form however often it is submitted, and a new one from a new form', async () => {
  await page.goto(`${stack.webUrl}/devices/${spares['spare-b']}`);
  const key = await page.locator('input[name="idempotencyKey"]').getAttribute('value');
  expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  // The browser sends the same form twice (a double click, a resubmission after a lost answer).
  const statuses = await page.evaluate(
    async ([url, fields]) => {
      const send = () => fetch(url, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual' }).then((r) => r.type);
      return Promise.all([send(), send()]);
    },
    [
      `${stack.webUrl}/devices/${spares['spare-b']}`,
      { intent: 'run', command: 'echo submitted twice', deadlineSeconds: '10', idempotencyKey: key! },
    ] as const,
  );
  expect(statuses).toEqual(['opaqueredirect', 'opaqueredirect']); // both sent on to the run
  const runs = async () =>
    (await stack.api('GET', `/api/v1/job-runs?deviceId=${spares['spare-b']}&pageSize=50`)).body.items.filter(
      (r: { command: string }) => r.command === 'echo submitted twice',
    );
  expect(await runs()).toHaveLength(1);

  // The page rendered again is a new form: running again is a new run.
  await page.goto(`${stack.webUrl}/devices/${spares['spare-b']}`);
  expect(await page.locator('input[name="idempotencyKey"]').getAttribute('value')).not.toBe(key);
  await page.getByLabel('Command').fill('echo submitted twice');
  await page.getByLabel('Offline deadline (s)').fill('10');
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  expect(await runs()).toHaveLength(2);
});

/** Clicks "Export CSV" and reads the download: BOM first, then RFC 4180 rows. */
async function download(p: Page) {
  const [file] = await Promise.all([p.waitForEvent('download'), p.getByRole('link', { name: 'Export CSV' }).click()]);
  const bytes = await readFile((await file.path())!);
  expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  return { name: file.suggestedFilename(), rows: parseCsv(bytes.subarray(3).toString('utf8')) };
}
