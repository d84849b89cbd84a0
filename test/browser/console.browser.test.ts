/** The console in a real browser: sign in, see the test agent's device, run `echo hello`, see the output. */
import { hostname } from 'node:os';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
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

it('signs in, runs echo hello on the agent\'s device and shows the output live', async () => {
  const page = await browser.newPage();
  await page.goto(`${stack.webUrl}/devices`);
  await page.waitForURL(/\/login/);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/devices/);

  const row = page.getByTestId('device-row').filter({ hasText: hostname() });
  await expect.poll(() => row.count()).toBe(1);
  await page.getByLabel(`Select ${hostname()}`).check();
  await page.getByLabel('Command').fill('echo hello');
  await page.getByRole('button', { name: 'Run', exact: true }).click();

  await page.waitForURL(/\/runs\/[0-9a-f-]{36}/);
  await expect.poll(() => page.getByTestId('output-stdout').first().textContent(), { timeout: 30_000 }).toContain('hello');
  await expect.poll(() => page.getByTestId('target-status').first().textContent(), { timeout: 30_000 }).toMatch(/succeeded/i);
  await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 30_000 }).toMatch(/succeeded/i);
  await page.close();
});
