/** Memory and CPU of processes from /proc (Linux), for benchmarks that measure a service from outside. */
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Resident set size in bytes (0 when the process is gone). */
export function rssBytes(pid: number): number {
  return statusBytes(pid, 'VmRSS');
}

/** The most the process was ever resident (VmHWM), in bytes: a peak no sampling interval can miss. */
export function peakRssBytes(pid: number): number {
  return statusBytes(pid, 'VmHWM');
}

function statusBytes(pid: number, field: string): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${field}:`));
    return line ? Number(line.split(/\s+/)[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * User + system CPU time in seconds of the process and of its children it has reaped (0 when the process is gone):
 * a PostgreSQL backend that exits takes its time to the postmaster's count, so a tree's sum never goes down.
 */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime (fields 14 to 17).
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** A process and its descendants (PostgreSQL's backends are children of the postmaster). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // exited while we looked
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

/** CPU use of a process group over a window, as a percentage of one core. */
export class CpuMeter {
  private startCpu = 0;
  private startWall = 0;
  constructor(private readonly pids: () => number[]) {}

  private total(): number {
    return this.pids().reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  }

  begin(): void {
    this.startCpu = this.total();
    this.startWall = performance.now();
  }

  /** Percent of one core since begin(). */
  percent(): number {
    const wallSeconds = (performance.now() - this.startWall) / 1000;
    return wallSeconds > 0 ? (100 * (this.total() - this.startCpu)) / wallSeconds : 0;
  }
}
