/**
 * systemd services: the runtime state from `list-units`, the start mode from `list-unit-files`. Names
 * drop the `.service` suffix (`ssh`, `getty@tty1`), which is how admins name them on both platforms.
 */
import { access } from 'node:fs/promises';
import { run } from '../io.ts';
import { byKey, clip } from '../normalize.ts';
import type { CollectContext, SectionInput } from '../types.ts';

type Service = SectionInput<'services'>['services'][number];

export const MAX_SERVICES = 5000;

export interface UnitState {
  name: string;
  load: string;
  active: string;
  sub: string;
  description: string | null;
}

const unitName = (unit: string) => unit.replace(/\.service$/, '');

export function parseListUnits(text: string): UnitState[] {
  const out: UnitState[] = [];
  for (const line of text.split('\n')) {
    // --plain drops the tree glyphs, but a failed unit can still be prefixed with "●" by older versions.
    const fields = line.replace(/^[\s●*]+/, '').split(/\s+/);
    const [unit, load, active, sub, ...desc] = fields;
    if (!unit?.endsWith('.service') || !load || !active || !sub) continue;
    out.push({ name: unitName(unit), load, active, sub, description: clip(desc.join(' '), 300) });
  }
  return out;
}

export function parseListUnitFiles(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [unit, state] = line.trim().split(/\s+/);
    if (unit?.endsWith('.service') && state) out.set(unitName(unit), state);
  }
  return out;
}

export function serviceState(active: string, sub: string): Service['state'] {
  switch (active) {
    case 'active':
    case 'reloading':
    case 'refreshing':
      // A oneshot that ran and finished is "active (exited)": nothing is running.
      return sub === 'exited' ? 'stopped' : 'running';
    case 'activating':
      return 'starting';
    case 'deactivating':
      return 'stopping';
    case 'failed':
      return 'failed';
    case 'inactive':
    case 'maintenance':
      return 'stopped';
    default:
      return 'other';
  }
}

export function startMode(fileState: string | undefined): Service['startMode'] {
  switch (fileState) {
    case 'enabled':
    case 'enabled-runtime':
    case 'generated': // SysV scripts and fstab units turned into units by a generator at boot
      return 'auto';
    case 'disabled':
    case 'static': // no [Install] section: started by another unit or by hand
    case 'indirect':
    case 'linked':
    case 'linked-runtime':
      return 'manual';
    case 'masked':
    case 'masked-runtime':
      return 'disabled';
    default:
      return 'other';
  }
}

export function mergeServices(units: UnitState[], files: Map<string, string>): Service[] {
  const byName = new Map<string, Service>();
  const modeOf = (name: string) => {
    // Instances (getty@tty1) take the start mode of their template (getty@).
    const direct = files.get(name);
    if (direct !== undefined || !name.includes('@')) return startMode(direct);
    return startMode(files.get(name.replace(/@.*$/, '@')));
  };
  for (const unit of units) {
    if (unit.load === 'not-found') continue; // referenced by another unit but not installed
    byName.set(unit.name, {
      name: unit.name,
      displayName: unit.description,
      state: unit.load === 'masked' ? 'stopped' : serviceState(unit.active, unit.sub),
      startMode: unit.load === 'masked' ? 'disabled' : modeOf(unit.name),
    });
  }
  for (const [name, fileState] of files) {
    // Templates are not services until instantiated; aliases duplicate the unit they point to.
    if (byName.has(name) || name.endsWith('@') || fileState === 'alias') continue;
    byName.set(name, { name, displayName: null, state: 'stopped', startMode: startMode(fileState) });
  }
  return [...byName.values()].sort(byKey((s) => s.name));
}

export async function collectServices(ctx: CollectContext): Promise<SectionInput<'services'>> {
  // sd_booted(): without a running systemd (containers, SysV hosts) there is no service state to read.
  const booted = await access('/run/systemd/system').then(
    () => true,
    () => false,
  );
  if (!booted) return { services: [] };
  const options = { timeoutMs: 20_000, maxBytes: 8 * 1024 * 1024, signal: ctx.signal };
  const [units, files] = await Promise.all([
    run('systemctl', ['list-units', '--type=service', '--all', '--no-legend', '--plain', '--no-pager'], options),
    run('systemctl', ['list-unit-files', '--type=service', '--no-legend', '--no-pager'], options),
  ]);
  if (!units || units.code !== 0) throw new Error(`systemctl list-units failed${units ? `: ${units.stderr.trim().slice(0, 200)}` : ''}`);
  const services = mergeServices(parseListUnits(units.stdout), files?.code === 0 ? parseListUnitFiles(files.stdout) : new Map());
  return { services: services.slice(0, MAX_SERVICES) };
}
