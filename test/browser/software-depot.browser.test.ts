/**
 * The software catalog and the depot in the console, in a real browser against the real stack: an admin creates a
 * package, uploads files through the depot's dialog (picked under a throttled connection: the progress bar moves and
 * completes; another one cancelled: nothing is kept; a .deb built by dpkg-deb dropped on the dialog: what was read
 * from it is shown), adds a version whose installer comes from a depot search and prefills the form, builds its
 * detection rules (an incomplete rule refused and shown again), sees them in words on the package page, sees the
 * artifact's delete refused while the version uses it, adds a share source and checks its health.
 * With SCREENSHOT_DIR set, screenshots are written there.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { buildDeb } from '../../packages/package-metadata/test/fixtures.ts';
import { ADMIN, startStack, type Stack } from '../support/stack.ts';
import { launchChromium, screenshot, signIn } from '../support/browser.ts';

let stack: Stack;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  stack = await startStack({ web: true });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  page.on('dialog', (d) => void d.accept());
  await signIn(page, stack.webUrl!, ADMIN, '/software');
}, 240_000);
afterAll(async () => {
  if (process.env.E2E_DUMP_LOGS) console.log(stack?.logs.join('\n'));
  await browser?.close();
  await stack?.close();
});

/** Upload speed of the browser's connection, in bytes per second (-1: not throttled). */
async function throttleUploads(p: Page, bytesPerSecond: number) {
  const cdp = await p.context().newCDPSession(p);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond,
  });
  return () => cdp.detach();
}

it(
  'creates a package, uploads through the dialog, adds a version with detection rules, and checks a source',
  { timeout: 240_000 },
  async () => {
    const name = `Demo tool ${randomUUID().slice(0, 8)}`;

    // The navigation leads to the catalog; a new package.
    await page.goto(`${stack.webUrl}/devices`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Software' }).click();
    await page.waitForURL((url) => url.pathname === '/software');
    await page.getByRole('link', { name: 'New package' }).click();
    const form = page.getByTestId('package-form');
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Vendor').fill('Example Corp');
    await form.getByLabel('Category').fill('Utilities');
    await form.getByLabel('Platform').selectOption('linux');
    await page.getByRole('button', { name: 'Create package' }).click();
    await page.waitForURL(/\/software\/[0-9a-f-]{36}\?created$/);
    const packageId = /software\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    await page.getByRole('heading', { name }).waitFor();
    expect(await page.getByText('No versions yet').count()).toBe(1);
    // Where it is installed: nowhere yet.
    expect(await page.getByText('Not installed anywhere yet').count()).toBe(1);

    // The catalog lists it, found by vendor and filtered by platform.
    await page.goto(`${stack.webUrl}/software?q=example+corp&platform=linux`);
    const row = page.locator(`[data-testid="package-row"][data-package-id="${packageId}"]`);
    expect(await row.getByRole('link', { name }).count()).toBe(1);
    expect(await row.getByTestId('package-latest').textContent()).toBe('No versions');
    await page.goto(`${stack.webUrl}/software?q=example+corp&platform=windows`);
    expect(await row.count()).toBe(0);

    // The depot's upload dialog: a file picked under a throttled connection goes up with visible progress.
    await page.getByRole('navigation', { name: 'Software' }).getByRole('link', { name: 'Depot' }).click();
    await page.waitForURL((url) => url.pathname === '/depot');
    await page.getByRole('button', { name: 'Upload' }).click();
    const dialog = page.getByRole('dialog', { name: 'Upload to the depot' });
    const big = randomBytes(768 * 1024);
    const untrottle = await throttleUploads(page, 256 * 1024);
    await dialog.getByLabel('File to upload').setInputFiles({ name: 'payload.bin', mimeType: 'application/octet-stream', buffer: big });
    const bar = dialog.getByRole('progressbar', { name: 'Upload progress' });
    await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(Number(await bar.getAttribute('aria-valuenow'))).toBeLessThan(100);
    await screenshot(page, 'depot-upload-progress');
    await dialog.getByTestId('upload-result').waitFor({ timeout: 30_000 });
    expect(await dialog.getByTestId('upload-file-name').textContent()).toBe('payload.bin');
    expect(await dialog.getByText('Stored in the depot.').count()).toBe(1);

    // Another one, cancelled halfway: the dialog says so, and the depot never keeps a short artifact. (Chrome's emulated
    // upload throttling may have handed the whole body on before the cancel: then the artifact is whole. That nothing
    // is kept of a body cut short is lib/depot-upload.server.test.ts's, deterministically.)
    await dialog.getByRole('button', { name: 'Upload another' }).click();
    const cancelled = randomBytes(8 * 1024 * 1024);
    await dialog
      .getByLabel('File to upload')
      .setInputFiles({ name: 'cancelled.bin', mimeType: 'application/octet-stream', buffer: cancelled });
    await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(Number(await bar.getAttribute('aria-valuenow'))).toBeLessThan(50);
    await dialog.getByRole('button', { name: 'Cancel upload' }).click();
    await dialog.getByText('Cancelled the upload of cancelled.bin').waitFor();
    await untrottle();

    // A .deb dropped on the dialog: what dpkg-deb wrote into its control file is read and shown.
    const deb = readFileSync(buildDeb(mkdtempSync(join(tmpdir(), 'console-deb-')), { architecture: 'amd64' }));
    const transfer = await page.evaluateHandle((base64) => {
      // In the page (this file is type-checked without the DOM library).
      const dom = globalThis as unknown as { DataTransfer: new () => { items: { add(file: File): void } } };
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const dt = new dom.DataTransfer();
      dt.items.add(new File([bytes], 'demo-agent-tool.deb', { type: 'application/vnd.debian.binary-package' }));
      return dt;
    }, deb.toString('base64'));
    await dialog.getByTestId('upload-drop-zone').dispatchEvent('drop', { dataTransfer: transfer });
    await dialog.getByTestId('upload-result').waitFor();
    expect(await dialog.getByTestId('upload-file-name').textContent()).toBe('demo-agent-tool.deb');
    expect(await dialog.getByTestId('metadata-package').textContent()).toBe('demo-agent-tool');
    expect(await dialog.getByTestId('metadata-version').textContent()).toBe('1:2.3.4-1');
    await screenshot(page, 'depot-upload-result');
    await dialog.getByRole('button', { name: 'Done' }).click();
    const artifactRow = (file: string) =>
      page.getByTestId('artifact-row').filter({ has: page.getByTestId('artifact-file-name').getByText(file, { exact: true }) });
    await expect.poll(() => artifactRow('demo-agent-tool.deb').count()).toBe(1);
    expect(await artifactRow('payload.bin').count()).toBe(1);
    const whole = { size: cancelled.length, sha256: createHash('sha256').update(cancelled).digest('hex') };
    const stored = (await stack.api('GET', '/api/v1/depot/artifacts?q=cancelled.bin')).body.items as { size: number; sha256: string }[];
    expect(stored.filter((a) => a.size !== whole.size || a.sha256 !== whole.sha256)).toEqual([]);
    expect(await artifactRow('demo-agent-tool.deb').getByTestId('artifact-used-by').textContent()).toBe('0 versions');

    // A version: its installer found by a depot search prefills the version, the package name and a detection rule.
    await page.goto(`${stack.webUrl}/software/${packageId}`);
    await page.getByRole('link', { name: 'New version' }).click();
    await page.waitForURL(`${stack.webUrl}/software/${packageId}/versions/new`);
    const versionForm = page.getByTestId('version-form');
    expect(await versionForm.getByLabel('Installer type').inputValue()).toBe('deb');
    expect(await versionForm.getByLabel('Linux', { exact: true }).isChecked()).toBe(true);
    expect(await versionForm.getByLabel('Install command', { exact: true }).getAttribute('placeholder')).toContain('apt-get install -y');
    await versionForm.getByLabel('Search the depot').fill('demo-agent');
    await versionForm.getByRole('button', { name: 'Add demo-agent-tool.deb' }).click();
    await versionForm.getByTestId('prefilled-notice').waitFor();
    expect(await versionForm.locator('input[name="version"]').inputValue()).toBe('1:2.3.4-1');
    expect(await versionForm.locator('input[name="packageName"]').inputValue()).toBe('demo-agent-tool');
    const builder = versionForm.getByTestId('detection-builder');
    const rules = builder.getByTestId('detection-rule-editor');
    expect(await rules.count()).toBe(1);
    expect(await rules.first().getByLabel('Rule type').inputValue()).toBe('linux_package');
    expect(await rules.first().getByLabel('Package name').inputValue()).toBe('demo-agent-tool');
    expect(await rules.first().getByLabel('Version', { exact: true }).inputValue()).toBe('1:2.3.4-1');

    // A second rule, ALL of both; left incomplete it is refused, and shown again as it was.
    await builder.getByRole('button', { name: 'ALL of' }).click();
    await builder.getByRole('button', { name: 'Add rule' }).click();
    await rules.nth(1).getByLabel('Rule type').selectOption('file');
    await page.getByRole('button', { name: 'Create version' }).click();
    await versionForm.getByText('Complete the detection rules, or remove the incomplete ones.').waitFor();
    expect(await rules.count()).toBe(2);
    expect(await rules.nth(1).getByLabel('Rule type').inputValue()).toBe('file');
    expect(await versionForm.getByTestId('chosen-artifact').count()).toBe(1);
    await rules.nth(1).getByLabel('Path').fill('/usr/share/demo/hello.txt');
    await versionForm.getByLabel('Free disk (MiB)').fill('50');
    await screenshot(page, 'version-editor');
    await page.getByRole('button', { name: 'Create version' }).click();
    await page.waitForURL((url) => url.pathname === `/software/${packageId}` && url.searchParams.get('createdVersion') === '1:2.3.4-1');

    // The package page: the version, its artifact, its detection rules in words, its requirements.
    const version = page.getByTestId('version');
    expect(await version.getByTestId('version-number').textContent()).toBe('1:2.3.4-1');
    expect(await version.getByTestId('version-artifact').textContent()).toContain('demo-agent-tool.deb');
    const detection = version.getByTestId('version-detection');
    expect(await detection.getByText('ALL of').count()).toBe(1);
    const ruleTexts = await detection.getByTestId('detection-rule').allTextContents();
    expect(ruleTexts).toHaveLength(2);
    expect(ruleTexts[0]).toContain('dpkg package demo-agent-tool');
    expect(ruleTexts[1]).toBe('file /usr/share/demo/hello.txt exists');
    expect(await version.getByTestId('version-requirements').textContent()).toBe('Linux · 50.0 MiB free disk');
    await screenshot(page, 'package-page');

    // Edit: only what changed is sent; the platform stays.
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await page.getByTestId('package-form').getByLabel('Category').fill('Tools');
    await page.getByRole('button', { name: 'Save package' }).click();
    await page.getByText('Saved the package.').waitFor();
    expect(await page.getByText('Example Corp · Linux · Tools').count()).toBe(1);

    // Another package's version needs this one: deleting it is refused (409), and the console says why.
    const other = await stack.api('POST', '/api/v1/software/packages', { name: `needs-${randomUUID().slice(0, 8)}`, platform: 'linux' });
    expect(other.status).toBe(201);
    const dependent = await stack.api('POST', `/api/v1/software/packages/${other.body.id}/versions`, {
      version: '1.0',
      installerType: 'apt',
      packageName: 'needs-demo',
      dependencies: [{ packageId }],
    });
    expect(dependent.status, JSON.stringify(dependent.body)).toBe(201);
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByTestId('delete-refusal').waitFor();
    expect(await page.getByText('The package was not deleted').count()).toBe(1);

    // The artifact is in use now: its delete is refused, and the console says why.
    await page.goto(`${stack.webUrl}/depot?q=demo-agent`);
    expect(await artifactRow('demo-agent-tool.deb').getByTestId('artifact-used-by').textContent()).toBe('1 version');
    await artifactRow('demo-agent-tool.deb').getByRole('button', { name: 'Delete' }).click();
    await page.getByTestId('delete-refusal').waitFor();
    expect(await artifactRow('demo-agent-tool.deb').count()).toBe(1);

    // The catalog shows the version as the latest; deleting the version (behind a confirm) frees the artifact.
    await page.goto(`${stack.webUrl}/software?q=${encodeURIComponent(name)}`);
    expect(await row.getByTestId('package-latest').textContent()).toBe('1:2.3.4-1');
    await row.getByRole('link', { name }).click();
    await page.getByRole('button', { name: 'Delete version' }).click();
    await page.getByText('Deleted version 1:2.3.4-1').waitFor();
    expect(await page.getByTestId('version').count()).toBe(0);
    await page.goto(`${stack.webUrl}/depot?q=demo-agent`);
    expect(await artifactRow('demo-agent-tool.deb').getByTestId('artifact-used-by').textContent()).toBe('0 versions');

    // A share source the server can see (its mount path), checked now: reachable, with the free space there.
    await page.getByRole('navigation', { name: 'Software' }).getByRole('link', { name: 'Sources' }).click();
    await page.waitForURL((url) => url.pathname === '/depot/sources');
    await page.getByRole('link', { name: 'Add source' }).click();
    const sourceForm = page.getByTestId('source-form');
    const shareName = `share-${randomUUID().slice(0, 8)}`;
    await sourceForm.getByLabel('SMB share').check();
    await sourceForm.getByLabel('Name').fill(shareName);
    await sourceForm.getByLabel('Priority').fill('50');
    await sourceForm.getByLabel('Subnets').fill('10.1.0.0/16');
    await sourceForm.getByLabel('Mount path').fill(mkdtempSync(join(tmpdir(), 'console-share-')));
    await page.getByRole('button', { name: 'Add source' }).click();
    await page.waitForURL((url) => url.searchParams.get('saved') === shareName);
    const sourceRow = page.getByTestId('source-row').filter({ hasText: shareName });
    expect(await sourceRow.getByTestId('source-health').textContent()).toBe('Not checked yet');
    expect(await sourceRow.textContent()).toContain('10.1.0.0/16');
    await sourceRow.getByRole('button', { name: 'Check now' }).click();
    await page.waitForURL((url) => url.searchParams.get('checked') === shareName);
    await expect.poll(() => sourceRow.getByTestId('source-health').getAttribute('data-reachable')).toBe('true');
    expect(await sourceRow.getByTestId('source-free').textContent()).toMatch(/ free$/);
    await screenshot(page, 'depot-sources');

    // Signing keys (admins): a rotation starts with a pending key, activated behind a confirm.
    await page.getByRole('navigation', { name: 'Software' }).getByRole('link', { name: 'Signing keys' }).click();
    await page.waitForURL((url) => url.pathname === '/depot/signing-keys');
    const before = await page.getByTestId('signing-key-row').count();
    await page.getByRole('button', { name: 'Start a rotation' }).click();
    await expect.poll(() => page.getByTestId('signing-key-row').count()).toBe(before + 1);
    const pending = page
      .getByTestId('signing-key-row')
      .filter({ has: page.getByTestId('signing-key-state').getByText('pending', { exact: true }) });
    expect(await pending.count()).toBe(1);
    const pendingId = await pending.getAttribute('data-key-id');
    await pending.getByRole('button', { name: 'Activate' }).click();
    const activated = page.locator(`[data-testid="signing-key-row"][data-key-id="${pendingId}"]`);
    await expect.poll(() => activated.getByTestId('signing-key-state').textContent()).toBe('active');
  },
);

it('shows viewers the catalog, the depot and the sources without a control to change them', { timeout: 120_000 }, async () => {
  const who = { email: `software-viewer-${randomUUID().slice(0, 8)}@example.com`, password: 'Rm4-Tq9w-Lx2c-Vb7n' };
  expect((await stack.api('POST', '/api/v1/users', { ...who, name: 'Viewer', role: 'viewer' })).status).toBe(201);
  const pkg = await stack.api('POST', '/api/v1/software/packages', { name: `viewed-${randomUUID().slice(0, 8)}`, platform: 'windows' });
  expect(pkg.status).toBe(201);
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const viewer = await context.newPage();
  try {
    await signIn(viewer, stack.webUrl!, who, '/software');
    await viewer.getByTestId('package-row').first().waitFor();
    expect(await viewer.getByRole('link', { name: 'New package' }).count()).toBe(0);
    await viewer.goto(`${stack.webUrl}/software/${pkg.body.id}`);
    await viewer.getByRole('heading', { name: pkg.body.name }).waitFor();
    expect(await viewer.getByRole('link', { name: 'New version' }).count()).toBe(0);
    expect(await viewer.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    // The editors say so up front instead of failing on save.
    await viewer.goto(`${stack.webUrl}/software/${pkg.body.id}/versions/new`);
    expect(await viewer.getByText('Viewers cannot change the software catalog').count()).toBe(1);
    await viewer.goto(`${stack.webUrl}/depot`);
    await viewer.getByTestId('artifact-row').first().waitFor();
    expect(await viewer.getByRole('button', { name: 'Upload' }).count()).toBe(0);
    expect(await viewer.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    await viewer.goto(`${stack.webUrl}/depot/sources`);
    await viewer.getByTestId('source-row').first().waitFor();
    expect(await viewer.getByRole('link', { name: 'Add source' }).count()).toBe(0);
    expect(await viewer.getByRole('button', { name: 'Check now' }).count()).toBe(0);
    expect(await viewer.getByRole('navigation', { name: 'Software' }).getByRole('link', { name: 'Signing keys' }).count()).toBe(0);
    // Uploading through the console is refused by the API for them too.
    const refused = await viewer.evaluate(async () => {
      const res = await fetch('/depot/upload?fileName=x.bin', {
        method: 'POST',
        headers: { 'Content-Type': 'application/octet-stream' },
        body: 'abc',
      });
      return res.status;
    });
    expect(refused).toBe(403);
  } finally {
    await context.close();
  }
});
