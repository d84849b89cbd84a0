/**
 * Installing a package version from the console on a real agent (issue 8): the install page (a device picked, the
 * live count), the run it starts (a job run with the software action) showing the precise outcome per device, a
 * second install that detection skips, and the uninstall; a package icon set and removed from its edit page.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, startStack, waitForRun, type AgentHandle, type Stack } from '../support/stack.ts';
import { launchChromium, signIn } from '../support/browser.ts';

let stack: Stack;
let agent: AgentHandle;
let browser: Browser;
let page: Page;
const RUN_URL = /\/runs\/[0-9a-f-]{36}$/;

beforeAll(async () => {
  stack = await startStack({ web: true });
  agent = await stack.enrollAgent();
  await agent.start();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  await signIn(page, stack.webUrl!, ADMIN, '/software');
}, 240_000);
afterAll(async () => {
  if (process.env.E2E_DUMP_LOGS) console.log(stack?.logs.join('\n'));
  await browser?.close();
  await stack?.close();
});

/** Starts the page's run on this machine's agent and returns the finished run. */
async function runOnTheAgent(versionId: string, query = ''): Promise<any> {
  await page.goto(`${stack.webUrl}/software/versions/${versionId}/install${query}`);
  await page.getByLabel(`Select ${hostname()}`).check();
  await expect.poll(() => page.getByTestId('run-preview-count').textContent()).toBe('1');
  const verb = query ? 'Uninstall' : 'Install';
  await page.getByRole('button', { name: `${verb} on 1 device` }).click();
  await page.waitForURL(RUN_URL);
  return waitForRun(stack, page.url().split('/').pop()!, 120_000);
}

it('installs a version on a device from the console, skips it when it is there, and uninstalls it', { timeout: 240_000 }, async () => {
  const marker = join(agent.stateDir, `installed-${randomUUID()}`);
  const script = Buffer.from(`#!/bin/sh\necho installing\necho done > '${marker}'\n`);
  const upload = await fetch(`${stack.apiUrl}/api/v1/depot/artifacts?fileName=install-tool.sh`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/octet-stream' },
    body: script,
  });
  expect(upload.status).toBe(201);
  const artifact = (await upload.json()) as { id: string };
  const name = `Console tool ${randomUUID().slice(0, 8)}`;
  const pkg = (await stack.api('POST', '/api/v1/software/packages', { name, platform: 'linux' })).body;
  const version = await stack.api('POST', `/api/v1/software/packages/${pkg.id}/versions`, {
    version: '1.4.2',
    installerType: 'sh',
    artifactIds: [artifact.id],
    uninstallCommand: `rm -f '${marker}'`,
    reboot: 'never',
    detection: { type: 'file', path: marker, check: 'exists' },
  });
  expect(version.status, JSON.stringify(version.body)).toBe(201);

  // From the package page: the version's Install… opens its install page.
  await page.goto(`${stack.webUrl}/software/${pkg.id}`);
  expect(await page.getByText('Not installed anywhere yet').count()).toBe(1);
  await page.getByRole('link', { name: 'Install…', exact: true }).click();
  await page.waitForURL(new RegExp(`/software/versions/${version.body.id}/install$`));
  await page.getByRole('heading', { name: `Install ${name} 1.4.2` }).waitFor({ timeout: 10_000 });
  const installed = await runOnTheAgent(version.body.id);
  expect(installed).toMatchObject({ kind: 'software.install', command: `install ${name} 1.4.2`, status: 'succeeded' });
  expect(existsSync(marker)).toBe(true);
  await page.reload();
  await expect.poll(() => page.getByTestId('target-software-outcome').textContent()).toBe('installed');
  await page.goto(`${stack.webUrl}/software/${pkg.id}`);
  const row = page.getByTestId('installation-row');
  expect(await row.textContent()).toContain(hostname());
  expect(await row.textContent()).toContain('Installed');

  await runOnTheAgent(version.body.id);
  await page.reload();
  await expect.poll(() => page.getByTestId('target-software-outcome').textContent()).toBe('already installed');

  const removed = await runOnTheAgent(version.body.id, '?action=uninstall');
  expect(removed).toMatchObject({ kind: 'software.uninstall', status: 'succeeded' });
  expect(existsSync(marker)).toBe(false);
  await page.reload();
  await expect.poll(() => page.getByTestId('target-software-outcome').textContent()).toBe('uninstalled');
  await page.goto(`${stack.webUrl}/software/${pkg.id}`);
  expect(await page.getByTestId('installation-row').textContent()).toContain('Not installed');
});

it('gives a package an icon from its edit page, shown in the catalog and on its page, and removes it', { timeout: 120_000 }, async () => {
  const name = `Iconic ${randomUUID().slice(0, 8)}`;
  const pkg = (await stack.api('POST', '/api/v1/software/packages', { name, platform: 'windows' })).body;
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
  await page.goto(`${stack.webUrl}/software/${pkg.id}/edit`);
  const form = page.getByTestId('icon-form');
  // Not an image: refused, nothing changes.
  await form.getByLabel('Icon image').setInputFiles({ name: 'logo.svg', mimeType: 'image/svg+xml', buffer: Buffer.from('<svg/>') });
  await form.getByRole('button', { name: 'Upload icon' }).click();
  await page.getByText('The icon was not changed').waitFor();
  expect((await stack.api('GET', `/api/v1/software/packages/${pkg.id}`)).body.hasIcon).toBe(false);

  await form.getByLabel('Icon image').setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: png });
  await form.getByRole('button', { name: 'Upload icon' }).click();
  await page.waitForURL(/\/edit\?saved$/);
  /** The icon's natural width once it has loaded (0 while it has not, or when it is broken). */
  const loaded = async () =>
    page
      .getByTestId('package-icon')
      .first()
      .evaluate((img: { complete: boolean; naturalWidth: number }) => (img.complete ? img.naturalWidth : 0));
  await expect.poll(loaded).toBe(1);
  await page.goto(`${stack.webUrl}/software?q=${encodeURIComponent(name)}`);
  await expect.poll(loaded).toBe(1);
  await page.goto(`${stack.webUrl}/software/${pkg.id}`);
  await expect.poll(loaded).toBe(1);

  await page.goto(`${stack.webUrl}/software/${pkg.id}/edit`);
  await page.getByRole('button', { name: 'Remove icon' }).click();
  await page.waitForURL(/\/edit\?saved$/);
  // The URL changes as the client navigates; the page under it follows.
  await expect.poll(() => page.getByTestId('package-icon').count()).toBe(0);
  expect((await stack.api('GET', `/api/v1/software/packages/${pkg.id}`)).body.hasIcon).toBe(false);
});
