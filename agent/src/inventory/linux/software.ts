/**
 * Installed packages from every package manager present (dpkg, rpm, pacman). A host can have more than
 * one database (rpm is installable on Debian); each package keeps its source.
 */
import { access, stat } from 'node:fs/promises';
import type { SoftwarePackage } from '@opsconductor/contracts/inventory';
import { mapLimit, readText, run, type RunOptions } from '../io.ts';
import { byKey, clip, clipOr, isoOrNull } from '../normalize.ts';
import type { CollectContext, SectionInput } from '../types.ts';

type Package = SectionInput<'software'>['packages'][number];

export const MAX_PACKAGES = 20_000;
/** Package lists of big hosts run to a few MB; the tools are killed beyond this. */
const LIST_OPTIONS: RunOptions = { timeoutMs: 60_000, maxBytes: 32 * 1024 * 1024 };

const DPKG_FORMAT = '${Package}\\t${Version}\\t${Architecture}\\t${Maintainer}\\t${db:Status-Abbrev}\\n';

export interface DpkgEntry {
  name: string;
  version: string;
  architecture: string | null;
  vendor: string | null;
}

/** Keeps `ii` (installed, no error flag): `rc` (removed, config left) and half-installed packages are not installed. */
export function parseDpkgList(text: string): DpkgEntry[] {
  const out: DpkgEntry[] = [];
  for (const line of text.split('\n')) {
    const [name, version, arch, maintainer, status] = line.split('\t');
    if (!name || version === undefined || !status || status.trim() !== 'ii') continue;
    out.push({ name, version, architecture: clip(arch, 50), vendor: clip(maintainer, 300) });
  }
  return out;
}

/**
 * dpkg has no install date; the mtime of the package's file list is when this version was unpacked.
 * Multi-Arch: same packages keep it as <name>:<arch>.list.
 */
async function dpkgInstallDate(entry: DpkgEntry): Promise<string | null> {
  const base = '/var/lib/dpkg/info/';
  for (const file of entry.architecture ? [`${entry.name}:${entry.architecture}.list`, `${entry.name}.list`] : [`${entry.name}.list`]) {
    try {
      return isoOrNull((await stat(base + file)).mtime);
    } catch {
      // Try the other name.
    }
  }
  return null;
}

async function dpkgPackages(ctx: CollectContext): Promise<Package[] | null> {
  const res = await run('dpkg-query', ['-W', `-f=${DPKG_FORMAT}`], { ...LIST_OPTIONS, signal: ctx.signal });
  if (!res || res.code !== 0) return null;
  const entries = parseDpkgList(res.stdout).slice(0, MAX_PACKAGES);
  const dates = await mapLimit(entries, 32, dpkgInstallDate);
  return entries.map((e, i) => ({
    name: clipOr(e.name, 'unknown', 300),
    version: clipOr(e.version, '', 200),
    architecture: e.architecture,
    vendor: e.vendor,
    installDate: dates[i] ?? null,
    source: 'dpkg',
  }));
}

const RPM_FORMAT = '%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{VENDOR}\\t%{INSTALLTIME}\\n';

/** rpm prints "(none)" for a missing tag. gpg-pubkey entries are imported signing keys, not software. */
export function parseRpmList(text: string): Package[] {
  const none = (v: string | undefined) => (v === undefined || v === '(none)' ? null : v);
  const out: Package[] = [];
  for (const line of text.split('\n')) {
    const [name, version, arch, vendor, installTime] = line.split('\t');
    if (!name || version === undefined || name === 'gpg-pubkey') continue;
    const seconds = Number(none(installTime));
    out.push({
      name: clipOr(name, 'unknown', 300),
      version: clipOr(version, '', 200),
      architecture: clip(none(arch), 50),
      vendor: clip(none(vendor), 300),
      installDate: seconds > 0 ? isoOrNull(new Date(seconds * 1000)) : null,
      source: 'rpm',
    });
  }
  return out;
}

async function rpmPackages(ctx: CollectContext): Promise<Package[] | null> {
  const res = await run('rpm', ['-qa', '--queryformat', RPM_FORMAT], { ...LIST_OPTIONS, signal: ctx.signal });
  if (!res || res.code !== 0) return null;
  return parseRpmList(res.stdout);
}

/** pacman's local database: %FIELD% headers, each followed by its value lines. */
export function parsePacmanDesc(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const header = /^%([A-Z0-9]+)%$/.exec(lines[i]!.trim());
    if (header && lines[i + 1] !== undefined) out[header[1]!] = lines[i + 1]!.trim();
  }
  return out;
}

async function pacmanPackages(ctx: CollectContext): Promise<Package[] | null> {
  const res = await run('pacman', ['-Q'], { ...LIST_OPTIONS, signal: ctx.signal });
  if (!res || res.code !== 0) return null;
  const entries = res.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f): f is [string, string] => f.length === 2 && Boolean(f[0]) && Boolean(f[1]))
    .slice(0, MAX_PACKAGES);
  const descs = await mapLimit(entries, 32, async ([name, version]) =>
    parsePacmanDesc((await readText(`/var/lib/pacman/local/${name}-${version}/desc`, 256 * 1024)) ?? ''),
  );
  return entries.map(([name, version], i) => {
    const desc = descs[i]!;
    const seconds = Number(desc.INSTALLDATE);
    return {
      name: clipOr(name, 'unknown', 300),
      version: clipOr(version, '', 200),
      architecture: clip(desc.ARCH, 50),
      vendor: clip(desc.PACKAGER, 300),
      installDate: seconds > 0 ? isoOrNull(new Date(seconds * 1000)) : null,
      source: 'pacman',
    };
  });
}

/** Deterministic order (name, architecture, source) so the section hash only changes with the package set. */
export function sortPackages<T extends Pick<SoftwarePackage, 'name' | 'version' | 'source'> & { architecture?: string | null }>(
  packages: T[],
): T[] {
  return packages.sort(byKey((p) => `${p.name}\u0000${p.architecture ?? ''}\u0000${p.source}\u0000${p.version}`));
}

/** The database each manager keeps: when it exists, a failed query is an error rather than "nothing installed". */
const DATABASES: Record<string, string[]> = {
  dpkg: ['/var/lib/dpkg/status'],
  rpm: ['/var/lib/rpm/Packages', '/var/lib/rpm/rpmdb.sqlite', '/usr/lib/sysimage/rpm/rpmdb.sqlite', '/usr/lib/sysimage/rpm/Packages'],
  pacman: ['/var/lib/pacman/local/ALPM_DB_VERSION'],
};

async function hasDatabase(manager: string): Promise<boolean> {
  for (const file of DATABASES[manager] ?? []) {
    if (
      await access(file).then(
        () => true,
        () => false,
      )
    )
      return true;
  }
  return false;
}

export async function collectSoftware(ctx: CollectContext): Promise<SectionInput<'software'>> {
  const managers = ['dpkg', 'rpm', 'pacman'] as const;
  const lists = await Promise.all([dpkgPackages(ctx), rpmPackages(ctx), pacmanPackages(ctx)]);
  for (const [i, manager] of managers.entries()) {
    // An empty list sent in place of a failed query would read as "everything was uninstalled".
    if (lists[i] === null && (await hasDatabase(manager)) && !ctx.signal?.aborted) {
      throw new Error(`${manager} has a package database but listing it failed`);
    }
  }
  const packages = sortPackages(lists.flatMap((list) => list ?? []));
  if (packages.length > MAX_PACKAGES) ctx.log.warn('software list truncated', { packages: packages.length, kept: MAX_PACKAGES });
  return { packages: packages.slice(0, MAX_PACKAGES) };
}
