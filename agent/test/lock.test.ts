/** The single-instance lock on a state directory. */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { LOCK_FILE, lockHolder } from '../src/state.ts';
import { tempDir } from './support/util.ts';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

it('names a live holder, but not a dead one nor a zombie left by a crashed agent', async () => {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const writeLock = (pid: number) => writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid }));

  writeLock(process.pid);
  expect(lockHolder(dir)).toBe(process.pid);

  // `true` exits at once; its parent then execs into `sleep`, which never reaps it: a real zombie.
  const parent = spawn('sh', ['-c', 'true & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  cleanups.push(() => parent.kill('SIGKILL'));
  const zombiePid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d) => resolve(String(d).trim()))));
  await new Promise((r) => setTimeout(r, 200));
  writeLock(zombiePid);
  expect(lockHolder(dir)).toBeUndefined();

  writeLock(2 ** 22 + 12345); // beyond pid_max: no such process
  expect(lockHolder(dir)).toBeUndefined();
});
