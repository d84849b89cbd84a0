/**
 * One launcher per data directory: two would run two PostgreSQL servers on one data folder (the second
 * refuses) and two Temporal servers on one SQLite file (which corrupts it).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock or throws saying who holds it; returns the release function. */
export function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, 'launcher.pid');
  for (;;) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new Error(
          `DATA_DIR ${dataDir} is in use by another launcher (pid ${holder}): stop it or set DATA_DIR (delete ${file} if pid ${holder} is not an OpsConductor launcher)`,
        );
      }
      rmSync(file, { force: true }); // left behind by a launcher that was killed
    }
  }
  return () => {
    try {
      if (Number.parseInt(readFileSync(file, 'utf8'), 10) === process.pid) rmSync(file, { force: true });
    } catch {
      // already gone
    }
  };
}
