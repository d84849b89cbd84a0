/**
 * Groups in a real browser: build a dynamic group's rule in the visual builder, watch the live preview,
 * save it, see its member, then edit the rule and watch the preview drop to zero.
 * With SCREENSHOT_DIR set, full-page screenshots of the pages visited are written there.
 */
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, startStack, type AgentHandle, type Stack } from '../support/stack.ts';
import { launchChromium } from '../support/browser.ts';

let stack: Stack;
let agent: AgentHandle;
let browser: Browser;

beforeAll(async () => {
  stack = await startStack({ web: true });
  agent = await stack.enrollAgent();
  await agent.start();
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

async function signIn(page: Page) {
  await page.goto(`${stack.webUrl}/groups`);
  await page.waitForURL(/\/login/);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/groups$/);
}

it('tags devices, sets a custom field and fills a static group from the device list', async () => {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await signIn(page);

  // An admin defines a custom field.
  await page.goto(`${stack.webUrl}/settings/custom-fields`);
  await page.getByLabel('Label', { exact: true }).fill('Environment');
  await page.getByLabel('Key', { exact: true }).fill('environment');
  await page.getByLabel('Type', { exact: true }).selectOption('enum');
  await page.getByLabel('Allowed values').fill('production, staging');
  await page.getByRole('button', { name: 'Create field' }).click();
  await expect.poll(() => page.getByTestId('custom-field-row').count()).toBe(1);

  // A static group to fill.
  await page.goto(`${stack.webUrl}/groups/new?kind=static`);
  await page.getByLabel('Name', { exact: true }).fill('Pilot ring');
  await page.getByRole('button', { name: 'Create group' }).click();
  await page.waitForURL(/\/groups\/[0-9a-f-]{36}$/);
  const groupUrl = page.url();

  // Bulk actions on the selected device.
  await page.goto(`${stack.webUrl}/devices`);
  await page.getByLabel(`Select ${hostname()}`).check();
  await page.getByLabel('Tags', { exact: true }).fill('pilot, web');
  await page.getByRole('button', { name: 'Add tags' }).click();
  await expect.poll(() => page.getByTestId('bulk-result').textContent()).toBe('Tagged 1 device: pilot, web');
  await expect.poll(() => page.getByTestId('device-row').getByTestId('tag-chip').allTextContents()).toEqual(['pilot', 'web']);

  await page.getByLabel(`Select ${hostname()}`).check();
  await page.getByLabel('Static group', { exact: true }).selectOption({ label: 'Pilot ring' });
  await page.getByRole('button', { name: 'Add to group' }).click();
  await expect.poll(() => page.getByTestId('bulk-result').textContent()).toBe('Added 1 device to Pilot ring');

  await page.getByLabel(`Select ${hostname()}`).check();
  await page.getByLabel('Custom field to set').selectOption({ label: 'Environment' });
  await page.getByLabel('New value').selectOption('staging');
  await page.getByRole('button', { name: 'Set value' }).click();
  await expect.poll(() => page.getByTestId('bulk-result').textContent()).toBe('Set Environment to staging on 1 device');

  // Server-side filters in the URL.
  await page.getByLabel('Filter by tag').selectOption('pilot');
  await page.waitForURL(/tag=pilot/);
  await expect.poll(() => page.getByTestId('device-row').count()).toBe(1);
  await page.goto(`${stack.webUrl}/devices?tag=no-such-tag`);
  await expect.poll(() => page.getByTestId('device-row').count()).toBe(0);
  await page.goto(`${stack.webUrl}/devices?cfKey=environment&cfValue=staging`);
  await expect.poll(() => page.getByTestId('device-row').count()).toBe(1);
  await page.goto(`${stack.webUrl}/devices?cfKey=environment&cfValue=production`);
  await expect.poll(() => page.getByTestId('device-row').count()).toBe(0);
  await page.goto(`${stack.webUrl}/devices?sort=lastSeenAt&order=desc`);
  await expect.poll(() => page.getByTestId('device-row').count()).toBe(1);

  // The device page shows tags, group and custom field; a tag can be removed there.
  await page.goto(`${stack.webUrl}/devices/${agent.deviceId}`);
  await expect.poll(() => page.getByTestId('device-groups').textContent()).toContain('Pilot ring');
  await expect.poll(() => page.getByLabel('Environment', { exact: true }).inputValue()).toBe('staging');
  await page.getByRole('button', { name: 'Remove tag web' }).click();
  const chips = page.getByTestId('device-tags').getByTestId('tag-chip');
  await expect.poll(() => chips.evaluateAll((els) => els.map((e) => e.getAttribute('data-tag')))).toEqual(['pilot']);
  await screenshot(page, 'device-overview-tagged');

  // The static group lists the device, and removing it empties the group.
  await page.goto(groupUrl);
  await expect.poll(() => page.getByTestId('member-row').count()).toBe(1);
  await screenshot(page, 'group-static');
  await page.getByRole('button', { name: `Remove ${hostname()}` }).click();
  await expect.poll(() => page.getByTestId('member-row').count()).toBe(0);
  await page.close();
});

it('builds a dynamic group in the rule builder, previews it live, saves it and edits it', async () => {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await signIn(page);

  await page.getByRole('link', { name: 'New dynamic group' }).click();
  await page.waitForURL(/\/groups\/new\?kind=dynamic/);
  const builder = page.getByTestId('rule-builder');
  const count = builder.getByTestId('rule-preview-count');

  // The builder starts with one empty condition: OS family equals linux.
  const first = builder.getByTestId('rule-condition').first();
  await first.getByLabel('Field', { exact: true }).selectOption({ label: 'OS family' });
  await expect.poll(() => first.getByLabel('Operator', { exact: true }).inputValue()).toBe('equals');
  await first.getByLabel('Value', { exact: true }).selectOption('linux');
  await expect.poll(() => count.textContent(), { timeout: 15_000 }).toBe('1');
  await expect.poll(() => builder.getByTestId('rule-preview-devices').textContent()).toContain(hostname());

  await page.getByLabel('Name', { exact: true }).fill('Linux machines');
  await screenshot(page, 'group-new-dynamic');
  await page.getByRole('button', { name: 'Create group' }).click();

  await page.waitForURL(/\/groups\/[0-9a-f-]{36}$/);
  await expect.poll(() => page.getByTestId('group-name').textContent()).toBe('Linux machines');
  await expect.poll(() => page.getByTestId('member-row').count(), { timeout: 15_000 }).toBe(1);
  await expect.poll(() => page.getByTestId('group-members-total').textContent()).toBe('1 member');
  await expect.poll(() => page.getByTestId('rule-view').textContent()).toContain('OS family equals “linux”');
  await screenshot(page, 'group-detail');

  // Edit: AND hostname starts with "zzz-no-such" → nothing matches.
  await page.getByRole('link', { name: 'Edit group' }).click();
  await page.waitForURL(/\/groups\/[0-9a-f-]{36}\/edit$/);
  await expect.poll(() => count.textContent(), { timeout: 15_000 }).toBe('1');
  await builder.getByRole('button', { name: 'Add condition' }).first().click();
  const second = builder.getByTestId('rule-condition').nth(1);
  await second.getByLabel('Field', { exact: true }).selectOption({ label: 'Hostname' });
  await second.getByLabel('Operator', { exact: true }).selectOption('starts_with');
  await second.getByLabel('Value', { exact: true }).fill('zzz-no-such');
  await expect.poll(() => count.textContent(), { timeout: 15_000 }).toBe('0');
  await screenshot(page, 'group-edit');

  // A type error from the API lands on the offending condition.
  await second.getByLabel('Operator', { exact: true }).selectOption('regex');
  await second.getByLabel('Value', { exact: true }).fill('(unclosed');
  await expect.poll(() => second.getByTestId('rule-node-error').count(), { timeout: 15_000 }).toBeGreaterThan(0);
  await expect.poll(() => count.textContent()).toBe('—');
  await screenshot(page, 'group-edit-error');
  await second.getByLabel('Operator', { exact: true }).selectOption('starts_with');
  await second.getByLabel('Value', { exact: true }).fill('zzz-no-such');
  await expect.poll(() => count.textContent(), { timeout: 15_000 }).toBe('0');

  await page.getByRole('button', { name: 'Save group' }).click();
  await page.waitForURL(/\/groups\/[0-9a-f-]{36}$/);
  await expect.poll(() => page.getByTestId('group-members-total').textContent(), { timeout: 15_000 }).toBe('0 members');
  await expect.poll(() => page.getByTestId('membership-event').count()).toBeGreaterThanOrEqual(2);

  if (process.env.SCREENSHOT_DIR) {
    await page.goto(`${stack.webUrl}/groups`);
    await screenshot(page, 'groups');
    await page.goto(`${stack.webUrl}/devices`);
    await screenshot(page, 'devices');
    await page.goto(`${stack.webUrl}/devices/${agent.deviceId}`);
    await screenshot(page, 'device-overview');
    for (const tab of ['hardware', 'software', 'services', 'security', 'performance', 'timeline']) {
      await page.goto(`${stack.webUrl}/devices/${agent.deviceId}?tab=${tab}`);
      await screenshot(page, `device-${tab}`);
    }
    await page.goto(`${stack.webUrl}/settings/custom-fields`);
    await screenshot(page, 'custom-fields');
  }
  await page.close();
});
