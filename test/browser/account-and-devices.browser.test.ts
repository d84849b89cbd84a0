/**
 * In a real browser through the console: a forged X-Forwarded-For from the browser never reaches the
 * audit log; every user changes their own password; admins retire, rotate and delete a device, whose
 * activity (delivered by the worker's outbox dispatcher) the device page shows.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, startStack, type Stack } from '../support/stack.ts';
import { launchChromium } from '../support/browser.ts';

let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  stack = await startStack({ web: true });
  browser = await launchChromium();
}, 240_000);
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function signIn(page: Page, email: string, password: string) {
  await page.goto(`${stack.webUrl}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

it('records the address the console saw, not one the browser forged in X-Forwarded-For', async () => {
  const context = await browser.newContext({ extraHTTPHeaders: { 'X-Forwarded-For': '6.6.6.6' } });
  const page = await context.newPage();
  await signIn(page, ADMIN.email, 'not the password at all');
  await expect.poll(() => page.getByTestId('login-error').count()).toBe(1);
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/devices/);
  const { prisma } = stack.database.db;
  const failed = await prisma.auditLog.findFirstOrThrow({ where: { action: 'auth.login_failed' }, orderBy: { id: 'desc' } });
  const ok = await prisma.auditLog.findFirstOrThrow({ where: { action: 'auth.login' }, orderBy: { id: 'desc' } });
  const session = await prisma.session.findFirstOrThrow({ orderBy: { createdAt: 'desc' } });
  for (const ip of [failed.ipAddress, ok.ipAddress, session.ipAddress]) expect(ip).toBe('127.0.0.1');
  await context.close();
});

it('lets a viewer change their own password from the header, with the current one', async () => {
  const email = 'viewer-pw@example.com';
  const first = 'Gm6-Qa9v-Zr3k-Lp8d';
  const second = 'Uf2-Xn7c-Wb5j-Ks4h';
  const created = await stack.api('POST', '/api/v1/users', { email, name: 'Vera Viewer', password: first, role: 'viewer' });
  expect(created.status).toBe(201);
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, email, first);
  await page.waitForURL(/\/devices/);
  await page.getByRole('link', { name: 'Change password' }).click();
  await page.waitForURL(/\/account\/password/);

  await page.getByLabel('Current password').fill('wrong current password');
  await page.getByLabel('New password', { exact: true }).fill(second);
  await page.getByLabel('Repeat the new password').fill(second);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect.poll(() => page.getByText('This is not your current password').count()).toBe(1);

  await page.getByLabel('Current password').fill(first);
  await page.getByLabel('New password', { exact: true }).fill('password1234');
  await page.getByLabel('Repeat the new password').fill('password1234');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect.poll(() => page.getByText(/too common/).count()).toBe(1);

  await page.getByLabel('Current password').fill(first);
  await page.getByLabel('New password', { exact: true }).fill(second);
  await page.getByLabel('Repeat the new password').fill(second);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect.poll(() => page.getByTestId('password-changed').count()).toBe(1);
  await context.close();

  const login = (password: string) =>
    fetch(`${stack.apiUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
  expect((await login(first)).status).toBe(401);
  expect((await login(second)).status).toBe(200);
});

it("lets an admin reset another user's password on the Users page, refusing weak ones", async () => {
  const email = 'reset-me@example.com';
  expect(
    (await stack.api('POST', '/api/v1/users', { email, name: 'Reset Me', password: 'Hd3-Vy8m-Qc5t-Np2x', role: 'operator' })).status,
  ).toBe(201);
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/devices/);
  await page.goto(`${stack.webUrl}/users`);
  const row = page.getByTestId('user-row').filter({ hasText: email });
  await row.getByText('Reset password').click();
  await row.getByLabel(`New password for ${email}`, { exact: true }).fill('Password1234!');
  await row.getByRole('button', { name: `Set the new password for ${email}` }).click();
  await expect.poll(() => row.getByText(/too common/).count()).toBe(1);
  await row.getByLabel(`New password for ${email}`, { exact: true }).fill('Jt7-Rm2w-Xe9b-Lq4v');
  await row.getByRole('button', { name: `Set the new password for ${email}` }).click();
  await expect.poll(() => row.getByText(/New password set/).count()).toBe(1);
  await context.close();
  const res = await fetch(`${stack.apiUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'Jt7-Rm2w-Xe9b-Lq4v' }),
  });
  expect(res.status).toBe(200);
});

it('lets an admin rotate the secret of, retire and delete a device from its page', async () => {
  const token = await stack.api('POST', '/api/v1/enrollment-tokens', { name: 'browser', maxUses: 1, expiresInHours: 1 });
  const hostname = 'browser-lifecycle-01';
  const enrolled = await fetch(`${stack.apiUrl}/agent/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      enrollmentToken: token.body.token,
      facts: {
        hostname,
        osFamily: 'linux',
        osName: 'Debian',
        osVersion: '12',
        architecture: 'x64',
        ipAddresses: ['10.0.0.9'],
        agentVersion: '0.1.0',
      },
    }),
  });
  const { deviceId } = (await enrolled.json()) as { deviceId: string };
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(/\/devices/);
  await page.goto(`${stack.webUrl}/devices/${deviceId}`);

  await page.getByRole('button', { name: 'Rotate secret' }).click();
  await expect.poll(() => page.getByTestId('new-device-secret').textContent()).toMatch(/[A-Za-z0-9_-]{43}/);

  await page.getByRole('button', { name: 'Retire device' }).click();
  await expect.poll(() => page.getByTestId('device-retired').count()).toBe(1);
  // Its activity, from domain events the worker's outbox dispatcher delivered, newest first.
  await page.goto(`${stack.webUrl}/devices/${deviceId}?tab=activity`);
  await expect
    .poll(
      async () => {
        await page.reload();
        return page.getByTestId('activity-entry').evaluateAll((entries) => entries.map((e) => e.getAttribute('data-type')));
      },
      { timeout: 30_000 },
    )
    .toEqual(['retired', 'left_group', 'joined_group', 'enrolled']);
  await expect.poll(() => page.getByTestId('activity-entry').getByText('Joined All Linux').count()).toBe(1);
  await page.goto(`${stack.webUrl}/devices`);
  await expect.poll(() => page.getByTestId('device-row').filter({ hasText: hostname }).count()).toBe(0);
  await page.getByLabel('Retired devices').selectOption('retired');
  await expect.poll(() => page.getByTestId('device-row').filter({ hasText: hostname }).count()).toBe(1);

  await page.goto(`${stack.webUrl}/devices/${deviceId}`);
  const remove = page.getByRole('button', { name: 'Delete device' });
  expect(await remove.isDisabled()).toBe(true);
  await page.getByLabel(`Type ${hostname} to confirm`).fill(hostname);
  await remove.click();
  await page.waitForURL(/\/devices\?deleted=/);
  await expect.poll(() => page.getByText(`${hostname} was deleted.`).count()).toBe(1);
  expect((await stack.api('GET', `/api/v1/devices/${deviceId}`)).status).toBe(404);
  await context.close();
});
