import { readText } from '../io.ts';
import { sleep } from '../../backoff.ts';
import type { CollectContext, SectionInput } from '../types.ts';
import { localFilesystems } from './filesystems.ts';

export function parseLoadavg(text: string | null): [number, number, number] | null {
  const fields = (text ?? '').trim().split(/\s+/).slice(0, 3).map(Number);
  if (fields.length !== 3 || fields.some((n) => !Number.isFinite(n) || n < 0)) return null;
  return fields.map((n) => Math.round(n * 100) / 100) as [number, number, number];
}

export function parseMeminfo(text: string | null): { totalBytes: number; usedBytes: number } | null {
  const kb = (key: string) => {
    const match = new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, 'm').exec(text ?? '');
    return match ? Number(match[1]) * 1024 : null;
  };
  const total = kb('MemTotal');
  if (total === null) return null;
  // MemAvailable (Linux ≥ 3.14) counts reclaimable cache; older kernels: free + buffers + cached.
  const available = kb('MemAvailable') ?? (kb('MemFree') ?? 0) + (kb('Buffers') ?? 0) + (kb('Cached') ?? 0);
  return { totalBytes: total, usedBytes: Math.max(0, total - available) };
}

export interface CpuTimes {
  busy: number;
  total: number;
}

/** The aggregate `cpu` line of /proc/stat; iowait counts as idle, guest time is already inside user. */
export function parseCpuTimes(stat: string | null): CpuTimes | null {
  const match = /^cpu\s+(.+)$/m.exec(stat ?? '');
  if (!match) return null;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = match[1]!.trim().split(/\s+/).map(Number);
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: total - idle - iowait, total };
}

export function cpuPercent(a: CpuTimes | null, b: CpuTimes | null): number | null {
  if (!a || !b || b.total <= a.total) return null;
  const percent = ((b.busy - a.busy) / (b.total - a.total)) * 100;
  return Math.round(Math.min(100, Math.max(0, percent)) * 10) / 10;
}

/** Gap between the two /proc/stat samples. */
export const CPU_SAMPLE_MS = 200;

export async function collectPerformance(ctx: CollectContext): Promise<SectionInput<'performance'>> {
  const first = parseCpuTimes(await readText('/proc/stat', 256 * 1024));
  const [, filesystems, loadavg, meminfo] = await Promise.all([
    sleep(CPU_SAMPLE_MS, ctx.signal),
    localFilesystems(),
    readText('/proc/loadavg', 4096),
    readText('/proc/meminfo', 64 * 1024),
  ]);
  const second = parseCpuTimes(await readText('/proc/stat', 256 * 1024));
  const load = parseLoadavg(loadavg);
  const memory = parseMeminfo(meminfo);
  return {
    cpuLoad1: load?.[0] ?? null,
    cpuLoad5: load?.[1] ?? null,
    cpuLoad15: load?.[2] ?? null,
    cpuPercent: cpuPercent(first, second),
    memoryUsedBytes: memory?.usedBytes ?? null,
    memoryTotalBytes: memory?.totalBytes ?? null,
    filesystems: filesystems.map((fs) => ({ mount: fs.mount.slice(0, 1024), sizeBytes: fs.sizeBytes, usedBytes: fs.usedBytes })),
  };
}
