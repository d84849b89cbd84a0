/** Debian's chromium driven by playwright-core (never a downloaded browser). */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** Signs `who` in through the login form and waits for `to` (a path) to load. */
export async function signIn(p: Page, webUrl: string, who: { email: string; password: string }, to: string): Promise<void> {
  await p.goto(`${webUrl}/login?redirectTo=${encodeURIComponent(to)}`);
  await p.getByLabel('Email').fill(who.email);
  await p.getByLabel('Password').fill(who.password);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.waitForURL((url) => url.pathname === to);
}

/** With SCREENSHOT_DIR set, a full-page screenshot of the page as `<name>.png` there. */
export async function screenshot(p: Page, name: string): Promise<void> {
  const dir = process.env.SCREENSHOT_DIR;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  await p.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}
