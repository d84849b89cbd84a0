/**
 * The depot sources form (admins): an HTTP(S) mirror or an SMB share, its priority, the subnets it serves first and
 * whether it is used; read from what was posted and turned into the API's bodies. Browser-safe.
 */
import type { components } from '@opsconductor/contracts/openapi-types';
import type { Issues, Parsed } from './software';

export type DepotSource = components['schemas']['DepotSource'];
export type CreateSourceBody = components['schemas']['CreateDepotSourceBody'];
export type UpdateSourceBody = components['schemas']['UpdateDepotSourceBody'];

export const sourceKindLabels: Record<DepotSource['kind'], string> = {
  depot: 'Built-in depot',
  http: 'HTTP(S) mirror',
  share: 'SMB share',
  s3: 'S3 bucket',
};

export type SourceFormValues = {
  kind: string;
  name: string;
  priority: string;
  enabled: boolean;
  subnets: string;
  baseUrl: string;
  uncPath: string;
  mountPath: string;
};

type Get = (name: string) => FormDataEntryValue | null;
const text = (v: FormDataEntryValue | null) => (typeof v === 'string' ? v.trim() : '');

export function readSourceForm(get: Get): SourceFormValues {
  return {
    kind: text(get('kind')),
    name: text(get('name')),
    priority: text(get('priority')),
    enabled: get('enabled') === 'on',
    subnets: text(get('subnets')),
    baseUrl: text(get('baseUrl')),
    uncPath: text(get('uncPath')),
    mountPath: text(get('mountPath')),
  };
}

export function sourceFormValues(source: DepotSource): SourceFormValues {
  const s = source.settings as { baseUrl?: unknown; uncPath?: unknown; mountPath?: unknown };
  const str = (x: unknown) => (typeof x === 'string' ? x : '');
  return {
    kind: source.kind,
    name: source.name,
    priority: String(source.priority),
    enabled: source.enabled,
    subnets: source.subnets.join(', '),
    baseUrl: str(s.baseUrl),
    uncPath: str(s.uncPath),
    mountPath: str(s.mountPath),
  };
}

/** `10.0.0.0/8, 192.168.1.0/24` (commas, spaces or lines) → the list; the API checks each CIDR. */
export const splitSubnets = (value: string): string[] => value.split(/[\s,]+/).filter(Boolean);

function common(v: SourceFormValues, issues: Issues) {
  if (!v.name) issues.name = 'Enter a name';
  const priority = /^\d+$/.test(v.priority) ? Number(v.priority) : NaN;
  if (!(priority >= 0 && priority <= 10_000)) issues.priority = 'A number from 0 (first) to 10000';
  const subnets = splitSubnets(v.subnets);
  if (subnets.length > 64) issues.subnets = 'At most 64 subnets';
  return { name: v.name, priority, enabled: v.enabled, subnets };
}

function settings(kind: string, v: SourceFormValues, issues: Issues): Record<string, string> | null {
  if (kind === 'http') {
    if (!/^https?:\/\/\S+$/i.test(v.baseUrl)) issues.baseUrl = 'An http:// or https:// URL';
    return { baseUrl: v.baseUrl };
  }
  if (kind === 'share') {
    if (!v.uncPath && !v.mountPath) issues.uncPath = 'A UNC path, a mount path, or both';
    return { ...(v.uncPath ? { uncPath: v.uncPath } : {}), ...(v.mountPath ? { mountPath: v.mountPath } : {}) };
  }
  return null;
}

export function createSourceBody(v: SourceFormValues): Parsed<CreateSourceBody> {
  const issues: Issues = {};
  const base = common(v, issues);
  if (v.kind !== 'http' && v.kind !== 'share') issues.kind = 'Choose an HTTP(S) mirror or an SMB share';
  const s = settings(v.kind, v, issues);
  if (Object.keys(issues).length || !s) return { ok: false, issues };
  return {
    ok: true,
    body: v.kind === 'http' ? { kind: 'http', ...base, settings: { baseUrl: s.baseUrl! } } : { kind: 'share', ...base, settings: s },
  };
}

/** A change of `current`: the fields whole (the settings only for a mirror or a share; the built-in depot has none). */
export function updateSourceBody(current: DepotSource, v: SourceFormValues): Parsed<UpdateSourceBody> {
  const issues: Issues = {};
  const base = common(v, issues);
  const s = settings(current.kind, v, issues);
  if (Object.keys(issues).length) return { ok: false, issues };
  return { ok: true, body: { ...base, ...(s ? { settings: s } : {}) } };
}
