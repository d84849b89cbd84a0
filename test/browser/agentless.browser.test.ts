/**
 * Agentless targets and credentials in the console (ADR 21), in a real browser against the real stack and a real
 * OpenSSH server on loopback: an admin adds a private-key credential (the key never comes back to the browser) and an
 * SSH target from the forms, a job runs on it and pins the host key the server shows, the list shows that key in short
 * with the whole of it on hover; the admin edits the target (the API's refusal of a bad host key lands at its field),
 * forgets the pinned key behind a confirm, sees the credential's delete refused while the target uses it, rotates the
 * secret; the WinRM fields and their warnings. A viewer reads the targets without a control to change them and has no
 * credentials page, and the API refuses them the credentials. With SCREENSHOT_DIR set, screenshots are written there.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { startSshd, type Sshd } from '../../packages/agentless/test/support/sshd.ts';
import { ADMIN, startStack, waitForRun, type Stack } from '../support/stack.ts';
import { launchChromium, screenshot, signIn } from '../support/browser.ts';

let stack: Stack;
let sshd: Sshd;
let browser: Browser;
let page: Page;

const VIEWER = { email: 'agentless-viewer@example.com', password: 'Rm4-Tq9w-Lx2c-Vb7n' };
const OTHER_KEY = 'SHA256:AAAAztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';

beforeAll(async () => {
  [stack, sshd] = await Promise.all([startStack({ web: true }), startSshd()]);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  await signIn(page, stack.webUrl!, ADMIN, '/agentless/targets');
}, 240_000);
afterAll(async () => {
  if (process.env.E2E_DUMP_LOGS) console.log(stack?.logs.join('\n'));
  await browser?.close();
  await Promise.allSettled([stack?.close(), sshd?.stop()]);
});

const rowOf = (p: Page, id: string): Locator => p.locator(`[data-testid="agentless-target-row"][data-target-id="${id}"]`);

it(
  'adds a credential and an SSH target, pins the host key on the first run, edits the target and forgets its key',
  { timeout: 240_000 },
  async () => {
    const credentialName = `sshd-key-${randomUUID().slice(0, 8)}`;
    const targetName = `sshd-${randomUUID().slice(0, 8)}`;

    // The navigation leads to the targets; the admin has the Credentials section.
    await page.goto(`${stack.webUrl}/devices`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agentless' }).click();
    await page.waitForURL((url) => url.pathname === '/agentless/targets');
    await page.getByRole('navigation', { name: 'Agentless' }).getByRole('link', { name: 'Credentials' }).click();
    await page.waitForURL((url) => url.pathname === '/agentless/credentials');

    // A private-key credential; a form without a key says so at the key's field.
    await page.getByRole('link', { name: 'Add credential' }).click();
    const form = page.getByTestId('credential-form');
    await form.getByLabel('Name', { exact: true }).fill(credentialName);
    await form.getByLabel('Username').fill(sshd.username);
    await form.getByLabel('Log in with a private key').check();
    await page.getByRole('button', { name: 'Add credential' }).click();
    await expect.poll(() => form.getByLabel('Private key', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await form.getByLabel('Name', { exact: true }).inputValue()).toBe(credentialName);
    // A key that is no key: the API's refusal lands at the key's field.
    await form
      .getByLabel('Private key', { exact: true })
      .fill('-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----');
    await page.getByRole('button', { name: 'Add credential' }).click();
    await expect.poll(() => form.getByRole('alert').textContent()).toContain('The private key cannot be used.');
    expect(await form.getByLabel('Private key', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByText('The credential was not saved').count()).toBe(1);
    expect(await form.getByLabel('Private key', { exact: true }).inputValue()).toBe('');
    await form.getByLabel('Private key', { exact: true }).fill(sshd.clientKey);
    await page.getByRole('button', { name: 'Add credential' }).click();
    await page.waitForURL(/\/agentless\/credentials\/[0-9a-f-]{36}\?created$/);
    const credentialId = /credentials\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    expect(await page.getByTestId('secret-note').first().textContent()).toContain('never shown again');
    const keyLine = sshd.clientKey.split('\n')[1]!;
    expect(keyLine.length).toBeGreaterThan(20);
    expect(await page.content()).not.toContain(keyLine);

    // The SSH target: port 22 by default, set to the server's; no host key (pinned on first use).
    await page.goto(`${stack.webUrl}/agentless/targets`);
    await page.getByRole('link', { name: 'Add target' }).click();
    const targetForm = page.getByTestId('target-form');
    expect(await targetForm.getByLabel('Port').inputValue()).toBe('22');
    await targetForm.getByLabel('Name', { exact: true }).fill(targetName);
    await targetForm.getByLabel('Host', { exact: true }).fill('127.0.0.1');
    await targetForm.getByLabel('Port').fill(String(sshd.port));
    await targetForm.getByLabel('Credential').selectOption(credentialId);
    await page.getByRole('button', { name: 'Add target' }).click();
    await page.waitForURL(/\/agentless\/targets\?created=/);
    const targetId = new URL(page.url()).searchParams.get('created')!;
    const row = rowOf(page, targetId);
    expect(await row.getByTestId('target-protocol').textContent()).toBe('SSH');
    expect(await row.getByTestId('target-address').textContent()).toBe(`127.0.0.1:${sshd.port}`);
    expect(await row.getByTestId('target-credential').textContent()).toBe(`${credentialName} · ${sshd.username}`);
    expect(await row.getByTestId('target-host-key').getAttribute('data-fingerprint')).toBe('');
    expect(await row.getByTestId('target-last-connected').textContent()).toBe('Never connected');
    expect(await row.getByRole('link', { name: targetName, exact: true }).getAttribute('href')).toBe(`/devices/${targetId}`);

    // A run on it connects, and the key the server showed is pinned: the list shows it in short, whole on hover.
    const job = await stack.api('POST', '/api/v1/jobs', {
      name: `agentless-${randomUUID().slice(0, 8)}`,
      steps: [{ name: 'hello', kind: 'shell', command: 'echo hello' }],
    });
    expect(job.status, JSON.stringify(job.body)).toBe(201);
    const run = await stack.api('POST', `/api/v1/jobs/${job.body.id}/runs`, { deviceIds: [targetId] });
    expect(run.status, JSON.stringify(run.body)).toBe(201);
    expect((await waitForRun(stack, run.body.id)).status).toBe('succeeded');
    const fingerprint = sshd.hostFingerprint();
    await page.reload();
    const key = row.getByTestId('target-host-key');
    expect(await key.getAttribute('data-fingerprint')).toBe(fingerprint);
    expect(await key.locator('code').textContent()).toBe(`SHA256:${fingerprint.slice(7, 15)}…${fingerprint.slice(-4)}`);
    expect(await key.locator('code').getAttribute('title')).toBe(fingerprint);
    expect(await row.getByTestId('target-last-connected').textContent()).toMatch(/^Connected /);
    await screenshot(page, 'agentless-targets');

    // In the device list it is marked as an SSH target, and its page says how it is reached.
    await page.goto(`${stack.webUrl}/devices?search=${encodeURIComponent(targetName)}`);
    expect(await page.getByTestId('device-agentless').textContent()).toBe('SSH');
    await page.getByRole('link', { name: targetName, exact: true }).click();
    await page.waitForURL(new RegExp(`/devices/${targetId}$`));
    expect(await page.getByTestId('device-transport').textContent()).toContain('over SSH, without an agent');
    await page.goto(`${stack.webUrl}/agentless/targets`);

    // Edit: a host key that is no fingerprint is the API's to refuse, at its field; a new name and timeout are saved.
    await row.getByRole('link', { name: `Edit ${targetName}` }).click();
    await page.waitForURL(new RegExp(`/agentless/targets/${targetId}/edit$`));
    const edit = page.getByTestId('target-form');
    expect(await edit.getByLabel('Port').inputValue()).toBe(String(sshd.port));
    expect(await edit.getByLabel('Credential').inputValue()).toBe(credentialId);
    await edit.getByLabel('Pin another host key').fill('SHA256:nope');
    await edit.getByLabel('Name', { exact: true }).fill(`${targetName}-renamed`);
    await page.getByRole('button', { name: 'Save target' }).click();
    await expect.poll(() => edit.getByLabel('Pin another host key').getAttribute('aria-invalid')).toBe('true');
    expect(await edit.getByLabel('Name', { exact: true }).inputValue()).toBe(`${targetName}-renamed`);
    expect((await stack.api('GET', `/api/v1/agentless-targets/${targetId}`)).body.name).toBe(targetName);
    await edit.getByLabel('Pin another host key').fill('');
    await edit.getByLabel('Connect timeout (s)').fill('45');
    await page.getByRole('button', { name: 'Save target' }).click();
    await page.waitForURL(new RegExp(`/agentless/targets/${targetId}/edit\\?saved$`));
    const saved = (await stack.api('GET', `/api/v1/agentless-targets/${targetId}`)).body;
    expect(saved).toMatchObject({
      name: `${targetName}-renamed`,
      connectTimeoutSeconds: 45,
      port: sshd.port,
      ssh: { hostKey: fingerprint },
    });

    // Forget the pinned key, behind a confirm.
    await page.getByRole('button', { name: 'Forget pinned host key' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect((await stack.api('GET', `/api/v1/agentless-targets/${targetId}`)).body.ssh.hostKey).toBe(fingerprint);
    await page.getByRole('button', { name: 'Forget pinned host key' }).click();
    await page.getByRole('button', { name: 'Confirm forget' }).click();
    await page.waitForURL(new RegExp(`/agentless/targets/${targetId}/edit\\?forgotten$`));
    await expect.poll(() => page.getByTestId('target-flash').textContent()).toContain('the next connection pins the key it sees');
    expect((await stack.api('GET', `/api/v1/agentless-targets/${targetId}`)).body.ssh).toEqual({ hostKey: null, hostKeyPinnedAt: null });
    expect(await page.getByRole('button', { name: 'Forget pinned host key' }).count()).toBe(0);

    // Pinning another key by hand.
    await page.getByTestId('target-form').getByLabel('Pin another host key').fill(OTHER_KEY);
    await page.getByRole('button', { name: 'Save target' }).click();
    await page.waitForURL(new RegExp(`/agentless/targets/${targetId}/edit\\?saved$`));
    expect((await stack.api('GET', `/api/v1/agentless-targets/${targetId}`)).body.ssh.hostKey).toBe(OTHER_KEY);

    // The credential: used by the target, so its delete is refused with the API's reason; its secret is rotated.
    await page.goto(`${stack.webUrl}/agentless/credentials`);
    const credentialRow = page.locator(`[data-testid="credential-row"][data-credential-id="${credentialId}"]`);
    expect(await credentialRow.getByTestId('credential-kind').getAttribute('data-status')).toBe('private_key');
    expect(await credentialRow.getByTestId('credential-targets').textContent()).toBe('1');
    await credentialRow.getByRole('link', { name: credentialName }).click();
    await page.waitForURL(new RegExp(`/agentless/credentials/${credentialId}$`));
    expect(await page.getByTestId('credential-target-row').textContent()).toContain(`${targetName}-renamed`);
    await page.getByRole('button', { name: 'Delete credential' }).click();
    await page.getByRole('button', { name: 'Confirm delete' }).click();
    const refusal = page.getByTestId('credential-delete-error');
    await expect.poll(() => refusal.getAttribute('data-code')).toBe('credential_in_use');
    expect(await refusal.textContent()).toContain('log in with this credential');
    expect((await stack.api('GET', `/api/v1/agentless-credentials/${credentialId}`)).status).toBe(200);

    const rotatedBefore = (await stack.api('GET', `/api/v1/agentless-credentials/${credentialId}`)).body.rotatedAt;
    const rotate = page.getByTestId('rotate-form');
    await rotate.getByLabel('Log in with a password').check();
    await rotate.getByLabel('Password', { exact: true }).fill('n3w-Pa55word');
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.waitForURL(new RegExp(`/agentless/credentials/${credentialId}\\?rotated$`));
    const rotated = (await stack.api('GET', `/api/v1/agentless-credentials/${credentialId}`)).body;
    expect(rotated.kind).toBe('password');
    expect(rotated.rotatedAt > rotatedBefore).toBe(true);
    expect(await page.content()).not.toContain('n3w-Pa55word');
  },
);

it('shows the WinRM fields with their ports and warnings, and takes a WinRM target', { timeout: 60_000 }, async () => {
  const credential = await stack.api('POST', '/api/v1/agentless-credentials', {
    name: `win-${randomUUID().slice(0, 8)}`,
    username: 'Administrator',
    secret: { kind: 'password', password: 'Win-Pa55' },
  });
  expect(credential.status).toBe(201);
  await page.goto(`${stack.webUrl}/agentless/targets/new`);
  const form = page.getByTestId('target-form');
  await form.getByText('WinRM (Windows)').click();
  expect(await form.getByLabel('Port').inputValue()).toBe('5986');
  expect(await page.getByTestId('ssh-settings').count()).toBe(0);
  const warnings = () => page.getByTestId('agentless-warning').evaluateAll((els) => els.map((e) => e.getAttribute('data-warning')));
  expect(await warnings()).toEqual([]);
  await form.getByLabel('Verify the TLS certificate').uncheck();
  expect(await warnings()).toEqual(['tls_unverified']);
  await form.getByLabel('HTTPS').uncheck();
  expect(await form.getByLabel('Port').inputValue()).toBe('5985');
  expect(await warnings()).toEqual(['ntlm_over_http']);
  await form.getByLabel('Authentication').selectOption('basic');
  expect(await warnings()).toEqual(['basic_over_http']);
  expect(await page.getByTestId('agentless-warning').textContent()).toContain('sends the password in the clear');

  // Without allowing Basic over HTTP the API refuses, at that checkbox.
  const name = `win-${randomUUID().slice(0, 8)}`;
  await form.getByLabel('Name', { exact: true }).fill(name);
  await form.getByLabel('Host', { exact: true }).fill('win.example.test');
  await form.getByLabel('Credential').selectOption(credential.body.id);
  await page.getByRole('button', { name: 'Add target' }).click();
  await expect.poll(() => form.getByLabel('Allow Basic authentication over HTTP').getAttribute('aria-invalid')).toBe('true');
  expect(await form.getByLabel('Port').inputValue()).toBe('5985');
  await form.getByLabel('Allow Basic authentication over HTTP').check();
  await page.getByRole('button', { name: 'Add target' }).click();
  await page.waitForURL(/\/agentless\/targets\?created=/);
  const id = new URL(page.url()).searchParams.get('created')!;
  expect((await stack.api('GET', `/api/v1/agentless-targets/${id}`)).body.winrm).toMatchObject({
    https: false,
    auth: 'basic',
    allowBasicOverHttp: true,
    endpoint: 'http://win.example.test:5985/wsman',
  });
  expect(await rowOf(page, id).getByTestId('target-protocol').textContent()).toBe('WinRM');
  await screenshot(page, 'agentless-winrm');
});

it('gives a viewer the targets to read, no credentials page, and the API refuses them the credentials', { timeout: 120_000 }, async () => {
  const credential = await stack.api('POST', '/api/v1/agentless-credentials', {
    name: `viewed-${randomUUID().slice(0, 8)}`,
    username: 'ops',
    secret: { kind: 'password', password: 'Viewed-Pa55' },
  });
  expect(credential.status).toBe(201);
  const created = await stack.api('POST', '/api/v1/agentless-targets', {
    protocol: 'ssh',
    name: `viewed-${randomUUID().slice(0, 8)}`,
    host: 'viewed.example.test',
    credentialId: credential.body.id,
    hostKey: OTHER_KEY,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const target: { id: string; name: string; credential: { id: string } } = created.body;
  expect((await stack.api('POST', '/api/v1/users', { ...VIEWER, name: 'Viewer', role: 'viewer' })).status).toBe(201);
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const viewer = await context.newPage();
  await signIn(viewer, stack.webUrl!, VIEWER, '/agentless/targets');

  const row = rowOf(viewer, target.id);
  expect(await row.getByTestId('target-name').textContent()).toBe(target.name);
  expect(await viewer.getByRole('link', { name: 'Add target' }).count()).toBe(0);
  expect(await row.getByRole('link', { name: /^Edit / }).count()).toBe(0);
  expect(await row.getByRole('button', { name: 'Remove' }).count()).toBe(0);
  // The credential's name shows, but does not lead to the admins' page.
  expect(await row.getByTestId('target-credential').locator('a').count()).toBe(0);
  expect(await viewer.getByRole('navigation', { name: 'Agentless' }).getByRole('link', { name: 'Credentials' }).count()).toBe(0);

  for (const path of [
    '/agentless/credentials',
    `/agentless/credentials/${target.credential.id}`,
    '/agentless/targets/new',
    `/agentless/targets/${target.id}/edit`,
  ]) {
    const res = await viewer.goto(`${stack.webUrl}${path}`);
    expect(res?.status(), path).toBe(403);
    await expect.poll(() => viewer.getByTestId('error-page').textContent()).toContain('Only admins can open this page.');
  }
  // A post of the edit page's actions is the API's to refuse.
  const refused = await viewer.evaluate(
    async (url) => (await fetch(url, { method: 'POST', body: new URLSearchParams({ intent: 'forget-host-key' }) })).status,
    `${stack.webUrl}/agentless/targets/${target.id}/edit`,
  );
  expect(refused).toBe(403);

  // The API itself: credentials are admin-only, reading included; targets are readable, not changeable.
  const login = await fetch(`${stack.apiUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(VIEWER),
  });
  const { token } = (await login.json()) as { token: string };
  const asViewer = (method: string, path: string, body?: unknown) =>
    fetch(`${stack.apiUrl}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    }).then((r) => r.status);
  expect(await asViewer('GET', '/agentless-credentials')).toBe(403);
  expect(await asViewer('GET', `/agentless-credentials/${target.credential.id}`)).toBe(403);
  expect(await asViewer('GET', '/agentless-targets')).toBe(200);
  expect(await asViewer('PATCH', `/agentless-targets/${target.id}`, { hostKey: null })).toBe(403);
  expect((await stack.api('GET', `/api/v1/agentless-targets/${target.id}`)).status).toBe(200);
  await context.close();
});
