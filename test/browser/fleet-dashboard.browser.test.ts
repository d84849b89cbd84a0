/**
 * The fleet dashboard and software assignments in a real browser: the home page shows the numbers of
 * GET /api/v1/fleet/summary and each one opens the device list filtered to exactly those devices (presence, OS,
 * compliance); a package assigned to a group from the group page shows on a member device's page (inherited), a
 * contrary assignment there is refused with the API's conflict, the bulk dialog of the groups list assigns to every
 * selected group, and the deployments touching a group and a device show with their status.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, startStack, type Stack } from '../support/stack.ts';
import { launchChromium, screenshot, signIn } from '../support/browser.ts';

let stack: Stack;
let browser: Browser;
let page: Page;
const dev: Record<string, string> = {};
const tag = randomUUID().slice(0, 6);
const host = (h: string) => `fleet-${tag}-${h}`;
let web = '';
let other = '';
let tool = { id: '', name: '' };
let lib = { id: '', name: '' };
let extra = { id: '', name: '' };
let toolV1 = '';
let assignment = '';

const sql = (text: string, params: unknown[] = []) => stack.database.db.pool.query(text, params);
async function ok(method: string, path: string, body?: unknown): Promise<any> {
  const r = await stack.api(method, `/api/v1${path}`, body);
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
  return r.body;
}
/** The hostnames the device list shows now. */
const listed = async () =>
  (await page.getByTestId('device-row').evaluateAll((rows) => rows.map((r) => r.querySelector('td a')?.textContent?.trim() ?? ''))).sort();

beforeAll(async () => {
  stack = await startStack({ web: true });
  const token = (await ok('POST', '/enrollment-tokens', { name: 'fleet', maxUses: 10 })).token as string;
  for (const h of ['a', 'b', 'c', 'd', 'e']) {
    const res = await fetch(`${stack.apiUrl}/agent/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        enrollmentToken: token,
        facts: {
          hostname: host(h),
          osFamily: 'linux',
          osName: 'Debian',
          osVersion: '12',
          architecture: 'x64',
          ipAddresses: ['127.0.0.1'],
          agentVersion: '0.1.0',
        },
      }),
    });
    expect(res.status).toBe(201);
    dev[h] = ((await res.json()) as { deviceId: string }).deviceId;
  }
  // a, b online (seen "in the future", so they stay online however long the test takes), c offline, d never seen, e
  // stale (missed check-ins for 5 minutes: between the 90 s online window and the 10-minute offline threshold).
  await sql("UPDATE devices SET last_seen_at = now() + interval '1 hour' WHERE id = ANY($1::uuid[])", [[dev.a, dev.b]]);
  await sql("UPDATE devices SET last_seen_at = now() - interval '1 hour', os_name = 'Ubuntu', os_version = '24.04' WHERE id = $1", [dev.c]);
  await sql('UPDATE devices SET last_seen_at = NULL WHERE id = $1', [dev.d]);
  await sql("UPDATE devices SET last_seen_at = now() - interval '5 minutes' WHERE id = $1", [dev.e]);

  web = (await ok('POST', '/groups', { kind: 'static', name: `Web ${tag}`, deviceIds: [dev.a, dev.b, dev.c] })).id;
  other = (await ok('POST', '/groups', { kind: 'static', name: `Other ${tag}`, deviceIds: [dev.d] })).id;
  const pkg = async (name: string) => ({ id: (await ok('POST', '/software/packages', { name, platform: 'linux' })).id as string, name });
  tool = await pkg(`Tool ${tag}`);
  lib = await pkg(`Lib ${tag}`);
  extra = await pkg(`Extra ${tag}`);
  toolV1 = (await ok('POST', `/software/packages/${tool.id}/versions`, { version: '1.0', installerType: 'apt', packageName: 'tool' })).id;
  await ok('POST', `/software/packages/${lib.id}/versions`, { version: '2.5', installerType: 'apt', packageName: 'lib' });
  await ok('POST', `/software/packages/${extra.id}/versions`, { version: '3.1', installerType: 'apt', packageName: 'extra' });

  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  await signIn(page, stack.webUrl!, ADMIN, '/groups');
}, 240_000);
afterAll(async () => {
  if (process.env.E2E_DUMP_LOGS) console.log(stack?.logs.join('\n'));
  await browser?.close();
  await stack?.close();
});

describe('fleet dashboard and software assignments', () => {
  it('assigns a package to a group from the group page and shows it on a member device, inherited', { timeout: 120_000 }, async () => {
    await page.goto(`${stack.webUrl}/groups/${web}`);
    const panel = page.getByTestId('assignments-panel');
    await panel.getByText('No software assigned').waitFor();
    await page.getByRole('button', { name: 'Assign package…' }).click();
    const form = panel.getByTestId('assign-form');
    await expect.poll(() => form.getByLabel('Package').locator('option').allTextContents()).toContain(tool.name);
    await form.getByLabel('Package').selectOption({ label: tool.name });
    await expect.poll(() => form.getByLabel('Version').locator('option').allTextContents()).toContain('1.0');
    await form.getByLabel('Intent').selectOption('required');
    await form.getByRole('button', { name: 'Assign', exact: true }).click();
    await expect.poll(() => form.getByTestId('assignment-result').textContent()).toBe(`${tool.name} (latest) is now required on 1 group.`);
    await expect.poll(() => panel.locator(`[data-testid="assignment-row"][data-package="${tool.name}"]`).count()).toBe(1);

    const listed = (await ok('GET', `/software/assignments?groupId=${web}`)).items;
    expect(listed).toMatchObject([{ package: { id: tool.id }, version: null, intent: 'required', target: { type: 'group', id: web } }]);
    assignment = listed[0].id;

    await page.goto(`${stack.webUrl}/devices/${dev.a}`);
    const row = page.getByTestId('assignments-panel').locator(`[data-testid="assignment-row"][data-package="${tool.name}"]`);
    await row.waitFor();
    expect(await row.getByTestId('assignment-target').textContent()).toBe(`Group Web ${tag}`);
    expect(await row.textContent()).toContain('inherited');
    expect(await row.getByTestId('assignment-intent').textContent()).toBe('Required');
  });

  it("shows the API's conflict when a contrary assignment would cover the same device", { timeout: 60_000 }, async () => {
    await page.goto(`${stack.webUrl}/devices/${dev.a}`);
    const panel = page.getByTestId('assignments-panel');
    await page.getByRole('button', { name: 'Assign package…' }).click();
    const form = panel.getByTestId('assign-form');
    await expect.poll(() => form.getByLabel('Package').locator('option').allTextContents()).toContain(tool.name);
    await form.getByLabel('Package').selectOption({ label: tool.name });
    await form.getByLabel('Intent').selectOption('uninstall');
    await form.getByRole('button', { name: 'Assign', exact: true }).click();
    const error = form.getByTestId('assignment-error');
    await error.waitFor();
    expect(await error.getAttribute('data-code')).toBe('assignment_conflict');
    expect(await error.textContent()).toContain(`1 device would be both uninstalled and required`);
    expect(await form.getByText('Conflicting assignment').count()).toBe(1);
    // Nothing was assigned to the device itself.
    expect((await ok('GET', `/software/assignments?packageId=${tool.id}`)).items).toHaveLength(1);
  });

  it('assigns a package to every group selected on the groups list (bulk dialog)', { timeout: 60_000 }, async () => {
    await page.goto(`${stack.webUrl}/groups`);
    await page.getByLabel(`Select Web ${tag}`).check();
    await page.getByLabel(`Select Other ${tag}`).check();
    await page.getByRole('button', { name: 'Assign software…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Assign software to the selection' });
    await dialog.getByRole('heading', { name: 'Assign software to 2 groups' }).waitFor();
    await expect.poll(() => dialog.getByLabel('Package').locator('option').allTextContents()).toContain(lib.name);
    await dialog.getByLabel('Package').selectOption({ label: lib.name });
    await dialog.getByLabel('Intent').selectOption('available');
    await screenshot(page, 'fleet-bulk-dialog');
    await dialog.getByRole('button', { name: 'Assign to 2 groups' }).click();
    await expect
      .poll(() => dialog.getByTestId('assignment-result').textContent())
      .toBe(`${lib.name} (latest) is now available on 2 groups.`);
    const targets = (await ok('GET', `/software/assignments?packageId=${lib.id}`)).items.map((a: any) => [a.target.id, a.intent]).sort();
    expect(targets).toEqual(
      [
        [web, 'available'],
        [other, 'available'],
      ].sort(),
    );
    // On a member device: the available assignment offers Install.
    await page.goto(`${stack.webUrl}/devices/${dev.d}`);
    const row = page.getByTestId('assignments-panel').locator(`[data-testid="assignment-row"][data-package="${lib.name}"]`);
    await row.getByRole('button', { name: 'Install' }).click();
    await row.getByTestId('install-run').waitFor();
    const runs = (await ok('GET', `/job-runs?deviceId=${dev.d}`)).items;
    expect(runs.map((r: any) => r.kind)).toContain('software.install');
  });

  it(
    'assigns from the package page to a device by hostname, and refuses a bulk contrary assignment on the devices list',
    { timeout: 60_000 },
    async () => {
      await page.goto(`${stack.webUrl}/software/${extra.id}`);
      const panel = page.getByTestId('assignments-panel');
      await page.getByRole('button', { name: 'Assign package…' }).click();
      const form = panel.getByTestId('assign-form');
      await expect.poll(() => form.getByLabel('Version').locator('option').allTextContents()).toContain('3.1');
      await form.getByLabel('Version').selectOption({ label: '3.1' });
      await form.getByLabel('Device', { exact: true }).check();
      await form.getByLabel('Target device hostname').fill(host('b'));
      await form.getByLabel('Intent').selectOption('required');
      await form.getByRole('button', { name: 'Assign', exact: true }).click();
      await expect.poll(() => form.getByTestId('assignment-result').textContent()).toBe(`${extra.name} 3.1 is now required on 1 device.`);
      const mine = (await ok('GET', `/software/assignments?packageId=${extra.id}`)).items.find((a: any) => a.target.type === 'device');
      expect(mine).toMatchObject({ target: { id: dev.b }, version: { version: '3.1' }, intent: 'required' });
      await expect.poll(() => panel.getByTestId('assignment-target').allTextContents()).toContain(host('b'));
      // An unknown hostname is said so, nothing is sent.
      await form.getByLabel('Target device hostname').fill('no-such-host');
      await form.getByRole('button', { name: 'Assign', exact: true }).click();
      await expect.poll(() => form.getByTestId('assignment-error').textContent()).toBe('No device is named “no-such-host”.');

      // On b's page, its own assignment is removed with "Uninstall too": gone, and an uninstall run starts for b.
      await page.goto(`${stack.webUrl}/devices/${dev.b}`);
      const own = page.locator(`[data-testid="assignment-row"][data-assignment-id="${mine.id}"]`);
      await own.getByRole('button', { name: 'Remove' }).click();
      await own.getByLabel('Uninstall too').check();
      await own.getByRole('button', { name: 'Confirm remove' }).click();
      await expect.poll(() => own.count()).toBe(0);
      expect((await ok('GET', `/software/assignments?packageId=${extra.id}`)).items.map((a: any) => a.id)).not.toContain(mine.id);
      await expect
        .poll(async () => (await ok('GET', `/job-runs?deviceId=${dev.b}`)).items.map((r: any) => r.kind))
        .toContain('software.uninstall');

      // Devices list: c (in the group that requires Tool) and d selected, Tool to be uninstalled: the API refuses it.
      await page.goto(`${stack.webUrl}/devices`);
      await page.getByLabel(`Select ${host('c')}`).check();
      await page.getByLabel(`Select ${host('d')}`).check();
      await page.getByRole('button', { name: 'Assign software…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Assign software to the selection' });
      await dialog.getByRole('heading', { name: 'Assign software to 2 devices' }).waitFor();
      await expect.poll(() => dialog.getByLabel('Package').locator('option').allTextContents()).toContain(tool.name);
      await dialog.getByLabel('Package').selectOption({ label: tool.name });
      await dialog.getByLabel('Intent').selectOption('uninstall');
      await dialog.getByRole('button', { name: 'Assign to 2 devices' }).click();
      const error = dialog.getByTestId('assignment-error');
      await error.waitFor();
      expect(await error.getAttribute('data-code')).toBe('assignment_conflict');
      expect((await ok('GET', `/software/assignments?packageId=${tool.id}`)).items).toHaveLength(1);
    },
  );

  it('shows numbers that match the API, each linking to the devices behind it', { timeout: 120_000 }, async () => {
    // Compliance of the group's required assignment: a installed, b failed, c not reported (pending).
    const report = (device: string, state: string) =>
      sql(
        `INSERT INTO package_installations (device_id, version_id, package_id, state, outcome, finished_at)
         VALUES ($1, $2, $3, $4::"PackageInstallationState", $4, now())
         ON CONFLICT (device_id, version_id) DO UPDATE SET state = excluded.state, outcome = excluded.outcome`,
        [device, toolV1, tool.id, state],
      );
    await report(dev.a!, 'installed');
    await report(dev.b!, 'failed');
    // A run that failed today and one of last week (not counted).
    const failed = (await ok('POST', '/job-runs', { deviceIds: [dev.a], command: 'false' })).id;
    await sql("UPDATE job_runs SET status = 'failed', finished_at = now() WHERE id = $1", [failed]);
    const old = (await ok('POST', '/job-runs', { deviceIds: [dev.a], command: 'false # old' })).id;
    await sql(
      "UPDATE job_runs SET status = 'failed', created_at = now() - interval '7 days', finished_at = now() - interval '7 days' WHERE id = $1",
      [old],
    );
    const summary = (await ok('GET', '/fleet/summary')) as any;
    expect(summary.devices).toMatchObject({ total: 5, online: 2, stale: 1, offline: 1, neverSeen: 1 });
    const item = summary.compliance.items.find((i: any) => i.assignmentId === assignment);
    expect(item).toMatchObject({ devices: 3, compliant: 1, nonCompliant: 1, pending: 1 });

    await page.goto(`${stack.webUrl}/`);
    await screenshot(page, 'fleet-home');
    for (const [id, value] of [
      ['tile-devices', summary.devices.total],
      ['tile-online', summary.devices.online],
      ['tile-stale', summary.devices.stale],
      ['tile-offline', summary.devices.offline],
      ['tile-never-seen', summary.devices.neverSeen],
      ['tile-deployments', summary.deployments.total],
      ['tile-failed-runs', summary.failedRuns.last24h],
    ] as const) {
      expect(await page.getByTestId(`${id}-value`).textContent(), id).toBe(String(value));
    }
    expect(summary.failedRuns.last24h).toBeGreaterThanOrEqual(1);
    await page.getByTestId('tile-failed-runs').click();
    await page.waitForURL((u) => u.pathname === '/runs' && u.searchParams.get('status') === 'failed' && u.searchParams.has('from'));
    await expect.poll(() => page.getByTestId('run-row').count()).toBe(summary.failedRuns.last24h);
    expect(await page.getByTestId('run-row').allTextContents()).not.toContainEqual(expect.stringContaining('# old'));

    await page.goto(`${stack.webUrl}/`);
    await page.getByTestId('tile-online').click();
    await page.waitForURL((u) => u.pathname === '/devices' && u.searchParams.get('status') === 'online');
    await expect.poll(listed).toEqual([host('a'), host('b')]);

    await page.goto(`${stack.webUrl}/`);
    await page.getByTestId('tile-stale').click();
    await page.waitForURL((u) => u.pathname === '/devices' && u.searchParams.get('status') === 'stale');
    await expect.poll(listed).toEqual([host('e')]);
    expect(await page.getByTestId('device-status').getAttribute('data-status')).toBe('stale');
    expect(await page.getByTestId('device-status').textContent()).toContain('Stale');

    await page.goto(`${stack.webUrl}/`);
    const ubuntu = page.getByTestId('os-bars').getByTestId('bar').filter({ hasText: 'Ubuntu 24.04' });
    expect(await ubuntu.getByTestId('bar-value').textContent()).toBe('1');
    await ubuntu.locator('a').click();
    await page.waitForURL((u) => u.searchParams.get('osName') === 'Ubuntu' && u.searchParams.get('osVersion') === '24.04');
    await expect.poll(listed).toEqual([host('c')]);
    expect(await page.getByTestId('link-filter').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('Ubuntu')]));

    await page.goto(`${stack.webUrl}/`);
    const row = page.locator(`[data-testid="compliance-row"][data-assignment-id="${assignment}"]`);
    expect(await row.getByTestId('compliance-devices').textContent()).toBe('3');
    expect(await row.getByTestId('compliance-compliant').textContent()).toBe('1');
    expect(await row.getByTestId('compliance-non-compliant').textContent()).toBe('1');
    expect(await row.getByTestId('compliance-pending').textContent()).toBe('1');
    await row.getByTestId('compliance-non-compliant').click();
    await page.waitForURL((u) => u.searchParams.get('assignmentId') === assignment && u.searchParams.get('compliance') === 'non_compliant');
    await expect.poll(listed).toEqual([host('b')]);
    await page.goto(`${stack.webUrl}/`);
    await page.locator(`[data-testid="compliance-row"][data-assignment-id="${assignment}"]`).getByTestId('compliance-pending').click();
    await page.waitForURL((u) => u.searchParams.get('compliance') === 'pending');
    await expect.poll(listed).toEqual([host('c')]);
  });

  it('shows the deployments touching a group and a device, with their status', { timeout: 60_000 }, async () => {
    const deployment = await ok('POST', '/deployments', { name: `Roll ${tag}`, versionId: toolV1, targets: { groupIds: [web] } });
    await page.goto(`${stack.webUrl}/groups/${web}`);
    const badge = page.locator(`[data-testid="deployment-badge"][data-deployment-id="${deployment.id}"]`);
    await badge.waitFor();
    await screenshot(page, 'fleet-group');
    expect(await badge.getByRole('link').getAttribute('href')).toBe(`/deployments/${deployment.id}`);
    expect((await badge.getByTestId('deployment-status').textContent())?.length).toBeGreaterThan(0);
    await page.goto(`${stack.webUrl}/groups/${other}`);
    await page.getByTestId('deployment-badges').getByText('No deployment targets this group').waitFor();

    await page.goto(`${stack.webUrl}/devices/${dev.a}`);
    const mine = page.locator(`[data-testid="deployment-badge"][data-deployment-id="${deployment.id}"]`);
    await mine.waitFor();
    await screenshot(page, 'fleet-device');
    const own = (await ok('GET', `/devices/${dev.a}/deployments`)).items[0];
    expect(own.id).toBe(deployment.id);
    expect((await mine.getByTestId('deployment-device-status').textContent())?.toLowerCase()).toMatch(
      /planned|waiting for window|queued|downloading|installing|succeeded|already installed|failed|reboot pending|skipped|cancelled/,
    );
    await page.goto(`${stack.webUrl}/devices/${dev.d}`);
    await page.getByTestId('deployment-badges').getByText('Not part of any deployment').waitFor();
  });
});
