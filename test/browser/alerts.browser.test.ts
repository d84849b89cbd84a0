/**
 * Alerting in the console (ADR 25) in a real browser against the real stack with a real agent: the admin adds a Slack
 * channel pointing at a loopback receiver, sends a test message from its page (the receiver gets it, the page shows
 * "delivered" and the log row), adds an escalation policy and a `job_run_failed` rule notifying the channel; a run
 * that exits 3 opens an alert for real, which shows up on /alerts; the admin opens it, acknowledges it with a comment
 * (the timeline shows it) and resolves it, and the receiver got the opened and resolved messages. A viewer reads the
 * alert without acknowledge or resolve buttons. With SCREENSHOT_DIR set, full-page screenshots are written there.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, startStack, waitForRun, type AgentHandle, type Stack } from '../support/stack.ts';
import { launchChromium, screenshot } from '../support/browser.ts';
import { waitFor } from '../support/tools.ts';

let stack: Stack;
let agent: AgentHandle;
let browser: Browser;
let admin: Page;
let receiver: Server;
let receiverUrl: string;
const posts: Array<{ path: string; body: string }> = [];
const VIEWER = { email: `viewer-${randomUUID().slice(0, 8)}@example.com`, password: 'Jd6n-Tv5p-Kq8w-Wz3r', name: 'Viewer' };

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
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  stack = await startStack({
    web: true,
    serviceEnv: { NOTIFICATION_ALLOWED_HOSTS: '127.0.0.1', ALERT_EVALUATION_INTERVAL_SECONDS: '5', ALERT_RESOLVE_AFTER_SECONDS: '3600' },
  });
  agent = await stack.enrollAgent();
  await agent.start();
  browser = await launchChromium();
  const created = await stack.api('POST', '/api/v1/users', { ...VIEWER, role: 'viewer' });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  admin = await signIn(ADMIN, '/alerts');
}, 240_000);

afterAll(async () => {
  if (process.env.E2E_DUMP_LOGS) console.log(stack?.logs.join('\n'));
  await browser?.close();
  await stack?.close();
  await new Promise((r) => receiver?.close(r));
});

it('a channel is tested, a rule opens an alert for a failed run, and it is acknowledged and resolved in the console', async () => {
  const p = admin;
  // ---- a channel, and its test message
  await p.goto(`${stack.webUrl}/alerts/channels/new`);
  await p.getByLabel('Name').fill('On-call Slack');
  await p.getByLabel('Type').selectOption('slack');
  await p.getByLabel('Webhook URL').fill(`${receiverUrl}/services/T000/B000/secret`);
  await p.getByRole('button', { name: 'Add channel' }).click();
  await p.waitForURL(/\/alerts\/channels\/[0-9a-f-]{36}\?created/);
  const channelId = new URL(p.url()).pathname.split('/').pop()!;
  await expect.poll(() => p.getByTestId('channel-flash').isVisible()).toBe(true);
  // The secret never comes back to the page.
  expect(await p.content()).not.toContain('/services/T000/B000/secret');
  await p.getByRole('button', { name: 'Send test message' }).click();
  await p.getByTestId('test-result').waitFor();
  expect(await p.getByTestId('test-result').getAttribute('data-status')).toBe('delivered');
  expect(await p.getByTestId('test-result').textContent()).toContain('200');
  await waitFor('the test message', async () => posts.length >= 1, 10_000, 100);
  expect(posts[0]!.path).toBe('/services/T000/B000/secret');
  await p.locator('[data-testid="delivery-row"][data-kind="test"][data-status="delivered"]').waitFor();
  await screenshot(p, 'alerts-channel');

  // ---- an escalation policy
  await p.goto(`${stack.webUrl}/alerts/policies/new`);
  await p.getByLabel('Name').fill('Page on-call');
  await p.getByTestId('policy-level').getByLabel('On-call Slack').check();
  await p.getByRole('button', { name: 'Create policy' }).click();
  await p.waitForURL(/\/alerts\/policies\/[0-9a-f-]{36}\?saved/);
  await p.getByTestId('policy-flash').waitFor();

  // ---- the rule: a failed job run, to the channel
  await p.goto(`${stack.webUrl}/alerts/rules/new`);
  await p.getByLabel('Name').fill('Failed runs');
  await p.getByLabel('Alert when').selectOption('job_run_failed');
  await p.getByLabel('Severity').selectOption('critical');
  await p.getByRole('checkbox', { name: 'On-call Slack' }).check();
  await p.getByRole('button', { name: 'Create rule' }).click();
  await p.waitForURL(/\/alerts\/rules\/[0-9a-f-]{36}\?saved/);
  const ruleId = new URL(p.url()).pathname.split('/').pop()!;
  const rule = await stack.api('GET', `/api/v1/alert-rules/${ruleId}`);
  expect(rule.body).toMatchObject({
    name: 'Failed runs',
    condition: { type: 'job_run_failed' },
    severity: 'critical',
    channelIds: [channelId],
  });
  await p.goto(`${stack.webUrl}/alerts/rules`);
  await p.locator(`[data-testid="alert-rule-row"][data-rule-id="${ruleId}"]`).waitFor();
  await screenshot(p, 'alerts-rules');

  // ---- a run that fails opens the alert for real
  const run = await stack.api('POST', '/api/v1/job-runs', { deviceIds: [agent.deviceId], command: 'exit 3' });
  expect(run.status, JSON.stringify(run.body)).toBe(201);
  await waitForRun(stack, run.body.id);
  await waitFor(
    'the alert',
    async () => (await stack.api('GET', `/api/v1/alerts?active=true&ruleId=${ruleId}`)).body.total === 1,
    45_000,
    500,
  );
  await p.goto(`${stack.webUrl}/alerts`);
  const row = p.getByTestId('alert-row').first();
  await row.waitFor();
  expect(await row.getByTestId('alert-state').getAttribute('data-status')).toBe('open');
  expect(await row.getByTestId('alert-severity').getAttribute('data-status')).toBe('critical');
  expect(await row.getByTestId('alert-subject').getAttribute('href')).toBe(`/runs/${run.body.id}`);
  expect(await p.getByTestId('alerts-count').textContent()).toBe('1');
  await screenshot(p, 'alerts-list');
  const alertId = (await row.getAttribute('data-alert-id'))!;
  await waitFor('the opened message', async () => posts.length >= 2, 20_000, 250);

  // ---- a viewer reads it, without buttons
  const viewer = await signIn(VIEWER, `/alerts/${alertId}`);
  await viewer.getByTestId('alert-summary').waitFor();
  expect(await viewer.getByTestId('alert-controls').count()).toBe(0);
  await viewer.goto(`${stack.webUrl}/alerts`);
  await viewer.getByTestId('alert-row').first().waitFor();
  expect(await viewer.getByTestId('bulk-actions').count()).toBe(0);
  expect(await viewer.getByRole('link', { name: 'Channels' }).count()).toBe(0);
  await viewer.context().close();

  // ---- acknowledged with a comment, then resolved
  await row.getByRole('link').first().click();
  await p.waitForURL((u) => u.pathname === `/alerts/${alertId}`);
  await p.getByRole('button', { name: 'Acknowledge', exact: true }).click();
  await p.getByLabel(/Comment/).fill('looking at it');
  await p.getByRole('button', { name: 'Acknowledge alert' }).click();
  // The answer came (the form closes on success) before the page is read again.
  await p.getByTestId('alert-action-form').waitFor({ state: 'hidden' });
  // The workflow records the acknowledgement: read the page again until it shows.
  await expect
    .poll(
      async () => {
        await p.reload();
        return p.getByTestId('alert-state').first().getAttribute('data-status');
      },
      { timeout: 15_000 },
    )
    .toBe('acknowledged');
  await p.locator('[data-testid="alert-event"][data-type="acknowledged"]', { hasText: 'looking at it' }).waitFor();
  expect(await p.getByTestId('alert-acknowledged').textContent()).toContain(ADMIN.email);
  await screenshot(p, 'alerts-acknowledged');
  await p.getByRole('button', { name: 'Resolve', exact: true }).click();
  await p.getByLabel(/Reason/).fill('fixed the script');
  await p.getByRole('button', { name: 'Resolve alert' }).click();
  // The answer came (the form closes on success) before the page is read again.
  await p.getByTestId('alert-action-form').waitFor({ state: 'hidden' });
  await expect
    .poll(
      async () => {
        await p.reload();
        return p.getByTestId('alert-state').first().getAttribute('data-status');
      },
      { timeout: 15_000 },
    )
    .toBe('resolved');
  await p.locator('[data-testid="alert-event"][data-type="resolved"]').waitFor();
  await waitFor('the resolved message', async () => posts.length >= 3, 20_000, 250);
  expect(posts[2]!.body).toMatch(/resolved/i);
  await p.locator('[data-testid="delivery-row"][data-kind="resolved"][data-status="delivered"]').waitFor();
  await screenshot(p, 'alerts-resolved');
}, 120_000);
