/**
 * Processes a command left behind when the agent that ran it died (kill -9, a crash, an OOM kill).
 * The agent restarted on the same boot finds them and stops them before it reports the command
 * `interrupted`: a command must never go on running on a device once it is reported over. (Adopting
 * them instead would mean reattaching to pipes that closed with the old agent: their output is lost
 * and their exit code unknowable.)
 *
 * Linux: every process of a command's tree carries OPSCONDUCTOR_COMMAND_ID=<id> in its environment
 * (executor.ts), which also finds descendants that left the process group (setsid, daemons), and never
 * an unrelated process that reused a PID. Elsewhere: the process group (POSIX) or tree (Windows) of the
 * pid journaled at spawn.
 */
import { readdir, readFile } from 'node:fs/promises';
import { sleep } from './backoff.ts';
import { COMMAND_ID_ENV, killPosixGroup, killWindowsTree, processGroupAlive } from './executor.ts';

/** Live processes whose environment names the command. */
export async function commandProcesses(commandId: string): Promise<number[]> {
  const marker = Buffer.from(`${COMMAND_ID_ENV}=${commandId}\0`);
  const found: number[] = [];
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return found;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const environ = await readFile(`/proc/${name}/environ`);
      // The variable may be the first entry (no NUL before it) or any later one.
      if (environ.subarray(0, marker.length).equals(marker) || environ.includes(Buffer.concat([Buffer.from([0]), marker]))) {
        const stat = await readFile(`/proc/${name}/stat`, 'utf8');
        const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
        if (state !== 'Z' && state !== 'X') found.push(Number(name));
      }
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** Stops what is left of the command; returns how many processes were still running. */
export async function stopOrphans(
  commandId: string,
  pid: number | undefined,
  graceMs: number,
  platform: NodeJS.Platform = process.platform,
): Promise<number> {
  if (platform === 'linux') {
    const orphans = await commandProcesses(commandId);
    if (orphans.length === 0) return 0;
    for (const p of orphans) signal(p, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && (await commandProcesses(commandId)).length > 0) await sleep(50);
    for (const p of await commandProcesses(commandId)) signal(p, 'SIGKILL');
    return orphans.length;
  }
  if (pid === undefined) return 0;
  if (platform === 'win32') {
    await killWindowsTree(pid);
    return 1;
  }
  if (!(await processGroupAlive(pid))) return 0;
  await killPosixGroup(pid, graceMs);
  return 1;
}
