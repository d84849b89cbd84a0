/**
 * The device's boot ID: it changes when the machine restarts and only then. A restarted agent tells
 * from it whether the machine rebooted meanwhile (a `reboot` command completes; processes of a
 * command that was running are gone rather than orphaned). Linux: the kernel's random boot_id;
 * Windows: the last boot time; elsewhere the boot time from sysctl or the uptime. Tests set it with
 * OPSCONDUCTOR_AGENT_BOOT_ID.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const BOOT_ID_ENV = 'OPSCONDUCTOR_AGENT_BOOT_ID';
const MAX_BOOT_ID_LENGTH = 100;

export async function readBootId(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Promise<string> {
  const override = env[BOOT_ID_ENV]?.trim();
  if (override) return override.slice(0, MAX_BOOT_ID_LENGTH);
  try {
    if (platform === 'linux') return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    if (platform === 'win32') {
      const { stdout } = await run(
        'powershell.exe',
        [
          '-NoProfile',
          '-NonInteractive',
          '-Command',
          '(Get-CimInstance Win32_OperatingSystem).LastBootUpTime.ToUniversalTime().ToString("o")',
        ],
        { timeout: 30_000, windowsHide: true },
      );
      const at = stdout.trim();
      if (at) return `boot-time:${at}`;
    }
    if (platform === 'darwin' || platform.endsWith('bsd')) {
      const { stdout } = await run('sysctl', ['-n', 'kern.boottime'], { timeout: 10_000 });
      const sec = /sec = (\d+)/.exec(stdout)?.[1];
      if (sec) return `boot-time:${sec}`;
    }
  } catch {
    // Fall back to the uptime below.
  }
  // Boot time from the uptime, to the minute: stable within one boot, apart from a clock jump.
  return `boot-time:${Math.round((Date.now() - os.uptime() * 1000) / 60_000)}`;
}
