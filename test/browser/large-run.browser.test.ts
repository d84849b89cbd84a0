/**
 * The run page of a large run (over 500 devices): its Devices table pages through the API (next and previous page,
 * status chips with the run's counts, a literal hostname search) instead of holding every target; live updates
 * change the rows on the page and the counts; a device picked in the table shows its output panel. The run is
 * written straight into the database (its workflow never runs): cheap, and its targets change only when the test says.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, startStack, type Stack } from '../support/stack.ts';
import { launchChromium, signIn } from '../support/browser.ts';

const DEVICES = 620;
let stack: Stack;
let browser: Browser;
let page: Page;
let runId: string;
/** Device IDs by hostname. */
const ids = new Map<string, string>();

const rows = () => page.getByTestId('target-row');
const hostnames = () => rows().locator('td:first-child a').allTextContents();
const range = () => page.getByTestId('targets-range').textContent();
const chip = (name: RegExp) => page.getByRole('group', { name: 'Filter devices by status' }).getByRole('button', { name });

/** Moves a target to a status as the workflow would, and wakes the run's live stream the way its activities do. */
async function moveTarget(hostname: string, status: 'succeeded' | 'failed') {
  const { prisma, pool } = stack.database.db;
  await prisma.jobRunDevice.update({ where: { jobRunId_deviceId: { jobRunId: runId, deviceId: ids.get(hostname)! } }, data: { status } });
  await pool.query('SELECT pg_notify($1, $2)', ['oc_job_run_events', runId]);
}

beforeAll(async () => {
  stack = await startStack({ web: true });
  const { prisma } = stack.database.db;
  // host-0000 … host-0618 and one name with a LIKE wildcard; every tenth device failed, the rest pending.
  const names = [...Array.from({ length: DEVICES - 1 }, (_, i) => `host-${String(i).padStart(4, '0')}`), 'db_special'];
  for (const name of names) ids.set(name, randomUUID());
  runId = randomUUID();
  await prisma.jobRun.create({
    data: {
      id: runId,
      workflowId: `job-run/${runId}`,
      command: 'echo large',
      timeoutSeconds: 60,
      deadlineAt: new Date(Date.now() + 3600_000),
      status: 'running',
      startedAt: new Date(),
    },
  });
  await prisma.jobRunDevice.createMany({
    data: names.map((hostname, i) => ({
      jobRunId: runId,
      deviceId: ids.get(hostname)!,
      hostname,
      status: i % 10 === 0 && hostname !== 'db_special' ? ('failed' as const) : ('pending' as const),
    })),
  });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  await signIn(page, stack.webUrl!, ADMIN, '/devices');
}, 240_000);
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

it('pages through the devices, 100 at a time', async () => {
  await page.goto(`${stack.webUrl}/runs/${runId}`);
  await expect.poll(() => rows().count()).toBe(100);
  expect(await page.getByText(`Devices (${DEVICES})`).count()).toBe(1);
  expect(await range()).toBe('1–100 of 620');
  const first = await hostnames();
  expect(first.slice(0, 2)).toEqual(['db_special', 'host-0000']);
  expect(await page.getByRole('button', { name: 'Previous page' }).isDisabled()).toBe(true);

  await page.getByRole('button', { name: 'Next page' }).click();
  await expect.poll(range).toBe('101–200 of 620');
  const second = await hostnames();
  expect(second[0]).toBe('host-0099');
  expect(second.filter((h) => first.includes(h))).toEqual([]);
  // To the last page and back: every device once.
  const seen = [...first, ...second];
  for (let n = 3; n <= 7; n++) {
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(range).toMatch(new RegExp(`^${(n - 1) * 100 + 1}–`));
    seen.push(...(await hostnames()));
  }
  expect(await range()).toBe('601–620 of 620');
  expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
  expect(new Set(seen).size).toBe(DEVICES);
  await page.getByRole('button', { name: 'Previous page' }).click();
  await expect.poll(range).toBe('501–600 of 620');
}, 60_000);

it('filters by status with the counts of the whole run, and searches hostnames literally', async () => {
  await page.goto(`${stack.webUrl}/runs/${runId}`);
  await expect.poll(() => rows().count()).toBe(100);
  expect(await chip(/^All/).textContent()).toBe('All 620');
  expect(await chip(/^Failed/).textContent()).toBe('Failed 62');
  await chip(/^Failed/).click();
  await expect.poll(range).toBe('1–62 of 62');
  expect(new Set(await rows().getByTestId('target-status').allTextContents())).toEqual(new Set(['Failed']));
  expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);

  await chip(/^All/).click();
  await expect.poll(range).toBe('1–100 of 620');
  await page.getByTestId('targets-search').fill('_');
  await expect.poll(hostnames).toEqual(['db_special']);
  await page.getByTestId('targets-search').fill('HOST-061');
  await expect.poll(range).toBe('1–9 of 9');
  // Search and status together.
  await chip(/^Failed/).click();
  await expect.poll(hostnames).toEqual(['host-0610']);
  await page.getByTestId('targets-search').fill('');
  await expect.poll(range).toBe('1–62 of 62');
}, 60_000);

it('updates the rows on the page and the counts live, without adding rows from other pages', async () => {
  await page.goto(`${stack.webUrl}/runs/${runId}`);
  await expect.poll(() => rows().count()).toBe(100);
  await expect.poll(() => page.getByText('Live', { exact: true }).count()).toBe(1);
  await moveTarget('host-0001', 'succeeded');
  const row = rows().filter({ has: page.getByRole('link', { name: 'host-0001', exact: true }) });
  await expect.poll(() => row.getByTestId('target-status').textContent(), { timeout: 20_000 }).toBe('Succeeded');
  await expect.poll(() => chip(/^Succeeded/).textContent()).toBe('Succeeded 1');
  // A device on another page: the counts change, the page does not.
  await moveTarget('host-0500', 'succeeded');
  await expect.poll(() => chip(/^Succeeded/).textContent(), { timeout: 20_000 }).toBe('Succeeded 2');
  expect(await rows().count()).toBe(100);
  expect(await page.getByRole('link', { name: 'host-0500', exact: true }).count()).toBe(0);
}, 60_000);

it("shows a device's output picked from any page, and stays on that page", async () => {
  await page.goto(`${stack.webUrl}/runs/${runId}`);
  await expect.poll(() => rows().count()).toBe(100);
  await page.getByRole('button', { name: 'Next page' }).click();
  await expect.poll(range).toBe('101–200 of 620');
  const row = rows().filter({ has: page.getByRole('link', { name: 'host-0150', exact: true }) });
  await row.getByRole('link', { name: 'View' }).click();
  await page.waitForURL(/\?device=/);
  const panel = page.getByTestId('output-panel');
  await expect.poll(() => panel.getAttribute('data-device-id')).toBe(ids.get('host-0150'));
  expect(await panel.getByRole('link', { name: 'host-0150' }).count()).toBe(1);
  expect(await range()).toBe('101–200 of 620');
  expect(await row.getByRole('link', { name: 'Showing' }).count()).toBe(1);
  // A device from a link, whatever page it is on.
  await page.goto(`${stack.webUrl}/runs/${runId}?device=${ids.get('host-0600')}`);
  await expect.poll(() => page.getByTestId('output-panel').getAttribute('data-device-id')).toBe(ids.get('host-0600'));
}, 60_000);
