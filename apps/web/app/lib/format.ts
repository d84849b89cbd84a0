/** Formatting shared by server and client render. Pure functions: `now` is always passed in. */

export function relativeTime(iso: string | null | undefined, now: number): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '—';
  const seconds = Math.round((now - t) / 1000);
  const future = seconds < 0;
  const s = Math.abs(seconds);
  let text: string;
  if (s < 45) return future ? 'in a moment' : 'just now';
  if (s < 3600) text = `${Math.max(1, Math.round(s / 60))} min`;
  else if (s < 86_400) text = `${Math.round(s / 3600)} h`;
  else if (s < 30 * 86_400) text = `${Math.round(s / 86_400)} d`;
  else return absoluteTime(iso, false).slice(0, 10);
  return future ? `in ${text}` : `${text} ago`;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `2025-03-01 14:05:09` in the browser's time zone, or in UTC (with a `Z`) on the server. */
export function absoluteTime(iso: string | null | undefined, local: boolean): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  if (!local) return `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  return h > 0 ? `${h}h ${pad(m)}m` : `${m}m ${pad(sec)}s`;
}

/** A timeout or a wait in seconds, in its largest whole unit: 3600 → "1 h", 90 → "90 s", 5400 → "90 min". */
export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds !== 0 && seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds !== 0 && seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds !== 0 && seconds % 60 === 0 && seconds >= 120) return `${seconds / 60} min`;
  return `${seconds} s`;
}

export function durationBetween(start: string | null | undefined, end: string | null | undefined): number | null {
  if (!start || !end) return null;
  const ms = Date.parse(end) - Date.parse(start);
  return Number.isFinite(ms) && ms >= 0 ? ms : null;
}

export function pluralize(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** A long command shown on one line: first line, cut to `max` characters. */
export function oneLine(text: string, max = 120): string {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const first = lines[0] ?? '';
  const more = lines.length > 1;
  if (first.length > max) return `${first.slice(0, max - 1)}…`;
  return more ? `${first} …` : first;
}

/** 1536 → "1.5 KiB"; binary units, as operating systems report memory and disks. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** 93784 → "1 d 2 h 3 min". */
export function formatUptime(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return `${Math.max(m, 0)} min`;
}

/** Share of `part` in `total` as 0–100 (null when the total is unknown or zero). */
export function percentOf(part: number | null | undefined, total: number | null | undefined): number | null {
  if (part === null || part === undefined || !total || !Number.isFinite(part) || !Number.isFinite(total)) return null;
  return Math.min(100, Math.max(0, (part / total) * 100));
}

/** A custom field's value for display: booleans as Yes/No, nothing as a dash. */
export function formatFieldValue(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  return String(value);
}

/** "Debian GNU/Linux 12 (bookworm)" + "12" → the name alone; "Windows 11 Pro" + "10.0.22631" → both. */
export function osLabel(name: string, version: string): string {
  if (!version || name.includes(version)) return name;
  return name ? `${name} ${version}` : version;
}

/** A software command's outcome in words (contracts' softwareOutcomes), with "restart needed" when it says so. */
export function softwareOutcomeText(report: { outcome: string; rebootRequired: boolean }): string {
  const words = report.outcome.replaceAll('_', ' ');
  return report.rebootRequired && report.outcome !== 'reboot_required' ? `${words}, restart needed` : words;
}
