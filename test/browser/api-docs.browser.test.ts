/**
 * The API reference (/api/docs) renders in chromium with every request to anything but the API refused: the
 * page must work on a network without internet access (its viewer, fonts and data all come from the API).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestApi, type TestApi } from '../support/api.ts';
import { launchChromium } from '../support/browser.ts';

let t: TestApi;
let browser: Browser;
beforeAll(async () => {
  t = await startTestApi();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

it('renders the API reference from the API alone', async () => {
  const page = await browser.newPage();
  const refused: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${t.url}/`) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    refused.push(url);
    return route.abort('internetdisconnected');
  });
  try {
    await page.goto(`${t.url}/api/docs`);
    // The document's title, a tag's description and an operation's summary: the viewer loaded and read the document.
    await page.getByRole('heading', { name: 'OpsConductor API' }).waitFor({ timeout: 30_000 });
    await page.getByText('Sign in and out, the signed-in user, changing your own password').first().waitFor();
    await page.getByText('Sign in with email and password').first().waitFor();
    expect(refused).toEqual([]);
  } finally {
    await page.close();
  }
});
