import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** Read at runtime rather than via a JSON import so `tsx` and a future bundler agree on the path. */
function readVersion(): string {
  try {
    const raw = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
    return z.object({ version: z.string().min(1).max(50) }).parse(JSON.parse(raw)).version;
  } catch {
    return '0.0.0-unknown';
  }
}

export const AGENT_VERSION = readVersion();
