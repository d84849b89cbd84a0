import { access, readlink } from 'node:fs/promises';
import { lookup, lookupService } from 'node:dns/promises';
import os from 'node:os';
import { parseOsRelease } from '../../facts.ts';
import { readText, run, withTimeout } from '../io.ts';
import { clip, clipOr, isoOrNull, normalizeArch, quantizeUptime } from '../normalize.ts';
import type { CollectContext, SectionInput } from '../types.ts';

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/** `hostname -f` asks the resolver for the canonical name; a reverse lookup of our own address is the fallback. */
async function fqdn(hostname: string, ctx: CollectContext): Promise<string> {
  const res = await run('hostname', ['-f'], { timeoutMs: 3000, signal: ctx.signal });
  const fromTool = res?.code === 0 ? res.stdout.trim() : '';
  if (fromTool.includes('.') && !/\s/.test(fromTool)) return fromTool;
  const viaDns = await withTimeout(
    (async () => {
      const { address } = await lookup(hostname);
      return (await lookupService(address, 0)).hostname;
    })(),
    3000,
    '',
  );
  if (viaDns.includes('.') && viaDns.split('.')[0]!.toLowerCase() === hostname.split('.')[0]!.toLowerCase()) return viaDns;
  return fromTool || hostname;
}

/** The zone name from a /etc/localtime symlink such as ../usr/share/zoneinfo/Europe/Berlin. */
export function zoneFromLocaltimeLink(target: string): string | null {
  const match = /zoneinfo\/(?:posix\/|right\/)?(.+)$/.exec(target);
  return match ? match[1]! : null;
}

async function timezone(ctx: CollectContext): Promise<string | null> {
  // /etc/localtime is what the C library uses, so it wins; /etc/timezone can be stale on Debian.
  const link = await readlink('/etc/localtime').catch(() => null);
  const fromLink = link ? zoneFromLocaltimeLink(link) : null;
  if (fromLink) return fromLink;
  const res = await run('timedatectl', ['show', '-p', 'Timezone', '--value'], { timeoutMs: 3000, signal: ctx.signal });
  if (res?.code === 0 && res.stdout.trim()) return res.stdout.trim();
  const file = (await readText('/etc/timezone', 4096))?.trim();
  if (file) return file;
  return null;
}

export function parseUptime(text: string | null): number | null {
  const first = Number(text?.trim().split(/\s+/)[0]);
  return Number.isFinite(first) && first >= 0 ? first : null;
}

/** `btime` in /proc/stat only moves when the clock is stepped, so the boot time stays stable between collections. */
export function parseBootTime(stat: string | null): Date | null {
  const match = /^btime\s+(\d+)$/m.exec(stat ?? '');
  return match ? new Date(Number(match[1]) * 1000) : null;
}

async function pendingReboot(ctx: CollectContext): Promise<string[]> {
  const reasons: string[] = [];
  // Debian/Ubuntu: update-notifier and package postinst scripts drop these files.
  if (await exists('/var/run/reboot-required')) {
    const pkgs = ((await readText('/var/run/reboot-required.pkgs', 64 * 1024)) ?? '')
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
    const unique = [...new Set(pkgs)].sort();
    if (unique.length === 0) reasons.push('reboot-required flag (/var/run/reboot-required)');
    for (const pkg of unique.slice(0, 19)) reasons.push(`updated package requires a reboot: ${pkg}`);
    if (unique.length > 19) reasons.push(`and ${unique.length - 19} more packages`);
  }
  // RHEL-likes (dnf-utils / yum-utils): exit 1 means core libraries or the kernel were updated since boot.
  const res = await run('needs-restarting', ['-r'], { timeoutMs: 30_000, signal: ctx.signal });
  if (res?.code === 1) reasons.push('needs-restarting: the kernel or core libraries were updated since boot');
  return reasons.slice(0, 20).map((r) => r.slice(0, 200));
}

export async function collectSystem(ctx: CollectContext): Promise<SectionInput<'system'>> {
  const hostname = clipOr(os.hostname(), 'unknown');
  const [release, fq, tz, uptimeText, statText, reasons] = await Promise.all([
    (async () =>
      parseOsRelease((await readText('/etc/os-release', 64 * 1024)) ?? (await readText('/usr/lib/os-release', 64 * 1024)) ?? ''))(),
    fqdn(hostname, ctx),
    timezone(ctx),
    readText('/proc/uptime', 4096),
    readText('/proc/stat', 256 * 1024),
    pendingReboot(ctx),
  ]);
  const uptime = parseUptime(uptimeText) ?? os.uptime();
  const boot = parseBootTime(statText) ?? new Date(Math.round((Date.now() / 1000 - uptime) / 60) * 60_000);
  return {
    hostname,
    fqdn: clip(fq),
    osFamily: 'linux',
    // Same choice as the check-in facts, so the device's OS name does not flip between the two.
    osName: clipOr(release.PRETTY_NAME || release.NAME, os.type(), 200),
    osVersion: clipOr(release.VERSION_ID, os.release(), 100),
    osBuild: clip(release.VERSION_CODENAME || release.BUILD_ID, 100),
    kernel: clip(os.release(), 200),
    architecture: normalizeArch(os.arch()),
    uptimeSeconds: quantizeUptime(uptime),
    bootTime: isoOrNull(boot),
    timezone: clip(tz, 100),
    pendingReboot: reasons.length > 0,
    pendingRebootReasons: reasons,
  };
}
