/** The console in a real browser: sign in, see the test agent's device, run `echo hello`, see the output. */
import { hostname } from 'node:os';
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

it("signs in, runs echo hello on the agent's device and shows the output live", async () => {
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

async function signIn(page: Page, path: string) {
  await page.goto(`${stack.webUrl}/login?redirectTo=${encodeURIComponent(path)}`);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname === path);
}

async function startRun(command: string): Promise<string> {
  const res = await stack.api('POST', '/api/v1/job-runs', { deviceIds: [agent.deviceId], command });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

it('shows "No output" for an empty stream instead of an empty black pane', async () => {
  const id = await startRun('echo only-stdout');
  const page = await browser.newPage();
  await signIn(page, `/runs/${id}`);
  await expect.poll(() => page.getByTestId('run-status').getAttribute('data-status'), { timeout: 30_000 }).toBe('succeeded');
  await expect.poll(() => page.getByTestId('output-stderr-empty').textContent()).toBe('No output');
  expect(await page.getByTestId('output-stderr').isVisible()).toBe(false);
  expect(await page.getByTestId('output-stdout').textContent()).toContain('only-stdout');
  expect(await page.getByTestId('output-stdout-empty').count()).toBe(0);
  await page.close();
});

it('leaving a run page while it streams live is quiet: no page error, no server error', async () => {
  const id = await startRun('sleep 60');
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  await signIn(page, `/runs/${id}`);
  await page.getByTitle('Receiving live updates').waitFor({ timeout: 30_000 });
  expect(await page.getByTestId('output-stdout-empty').textContent()).toBe('No output yet');
  const logsBefore = stack.logs.length;
  await page.getByRole('link', { name: 'Runs', exact: true }).first().click();
  await page.waitForURL((url) => url.pathname === '/runs');
  await page.getByTestId('run-row').first().waitFor();
  await new Promise((r) => setTimeout(r, 1500)); // time for the server to notice the stream's end
  const webErrors = stack.logs.slice(logsBefore).filter((l) => l.startsWith('[web]') && /error|abort/i.test(l));
  expect(webErrors).toEqual([]);
  expect(pageErrors).toEqual([]);
  await page.close();
  expect((await stack.api('POST', `/api/v1/job-runs/${id}/cancel`)).status).toBe(200);
});
