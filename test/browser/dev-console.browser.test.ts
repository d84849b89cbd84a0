/**
 * The console under `remix vite:dev`, as a new user runs it (`npm run dev`): React's development
 * warnings reach the browser console and server errors become Vite's error overlay, neither of which
 * the production build shows. Catches duplicate React keys and client aborts treated as errors.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startChild, type Child } from '../../scripts/lib/child.ts';
import { ADMIN, startStack, type AgentHandle, type Stack } from '../support/stack.ts';
import { launchChromium } from '../support/browser.ts';
import { freePort, repoRoot, waitFor } from '../support/tools.ts';

let stack: Stack;
let agent: AgentHandle;
let browser: Browser;
let web: Child;
let webUrl: string;
const webLogs: string[] = [];

beforeAll(async () => {
  stack = await startStack();
  agent = await stack.enrollAgent();
  await agent.start();
  const port = await freePort();
  webUrl = `http://127.0.0.1:${port}`;
  web = startChild(
    'web-dev',
    join(repoRoot, 'node_modules', '.bin', 'remix'),
    ['vite:dev', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
    {
      cwd: join(repoRoot, 'apps/web'),
      env: { API_URL: stack.apiUrl, NODE_ENV: 'development' },
      output: (line) => webLogs.push(line),
    },
  );
  await waitFor('the dev console', async () => (await fetch(`${webUrl}/login`)).ok, 120_000, 500);
  browser = await launchChromium();
  // Vite optimizes the client's dependencies on the first visit and then reloads the page: let that
  // happen before the tests look at anything.
  const warmUp = await browser.newPage();
  for (let i = 0; i < 2; i++) {
    await warmUp.goto(`${webUrl}/login`, { waitUntil: 'networkidle', timeout: 120_000 });
    await new Promise((r) => setTimeout(r, 2000));
  }
  await warmUp.close();
}, 400_000);
afterAll(async () => {
  if (process.env.E2E_DUMP_LOGS) console.log(webLogs.join('\n'));
  await browser?.close();
  await web?.stop();
  await stack?.close();
});

/** A signed-in page that records the browser console's errors and uncaught exceptions. */
async function signedInPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${webUrl}/login`, { waitUntil: 'networkidle', timeout: 60_000 });
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/devices/, { timeout: 60_000 });
  return { page, errors };
}

it('renders the Services, Software and Timeline tabs without duplicate React keys', async () => {
  const { page, errors } = await signedInPage();
  for (const tab of ['services', 'software', 'timeline']) {
    await page.goto(`${webUrl}/devices/${agent.deviceId}?tab=${tab}`, { waitUntil: 'networkidle', timeout: 60_000 });
    await page.getByRole('heading', { level: 1 }).first().waitFor();
  }
  // Client-side navigation between the tabs (the keys change with the URL).
  await page
    .getByRole('navigation', { name: 'Device sections' })
    .getByRole('link', { name: /^Services/ })
    .click();
  await page.waitForURL(/tab=services/);
  await page.getByLabel('Service state').selectOption('running');
  await page.waitForURL(/state=running/);
  await new Promise((r) => setTimeout(r, 500));
  expect(errors.filter((e) => /same key|unique "key"/i.test(e))).toEqual([]);
  await page.close();
});

it('leaving a live run page shows no error overlay and logs no server error', async () => {
  const res = await stack.api('POST', '/api/v1/job-runs', { deviceIds: [agent.deviceId], command: 'sleep 60' });
  expect(res.status).toBe(201);
  const { page, errors } = await signedInPage();
  await page.goto(`${webUrl}/runs/${res.body.id}`);
  await page.getByTitle('Receiving live updates').waitFor({ timeout: 60_000 });
  const logsBefore = webLogs.length;
  await page.getByRole('link', { name: 'Runs', exact: true }).first().click();
  await page.waitForURL((url) => url.pathname === '/runs');
  await page.getByTestId('run-row').first().waitFor();
  await new Promise((r) => setTimeout(r, 2000)); // Vite sends the overlay over its HMR socket
  expect(await page.locator('vite-error-overlay').count()).toBe(0);
  expect(webLogs.slice(logsBefore).filter((l) => /abort|error/i.test(l))).toEqual([]);
  expect(errors.filter((e) => /abort/i.test(e))).toEqual([]);
  await page.close();
  expect((await stack.api('POST', `/api/v1/job-runs/${res.body.id}/cancel`)).status).toBe(200);
});
