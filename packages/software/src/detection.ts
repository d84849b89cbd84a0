/**
 * "Is this version installed?": a detection tree (contracts' `Detection`) evaluated against a device's probes.
 *
 * Three-valued, because a probe can fail (reg.exe denied, dpkg-query crashed, a script timed out) and "we could
 * not tell" must not read as "not installed" — the agent would reinstall over a working install. A rule whose
 * probe throws, or that is malformed for its check (an `equals` without a value), is `null` (unknown). `all`
 * and `any` combine as Kleene's AND and OR: `all` is false as soon as one child is false (it stops there),
 * unknown if none is false but one is unknown; `any` is true as soon as one child is true (it stops there).
 * So an unknown only decides the result when nothing else does.
 *
 * The trace records each rule evaluated (not those skipped by a short-circuit), bounded so it fits the agent's
 * report: at most `maxTraceEntries` entries of at most TRACE_TEXT_MAX characters.
 */
import type { Detection, DetectionRule, VersionConstraint } from '@opsconductor/contracts/software';
import { describeConstraints, satisfies, type VersionScheme } from './versions.ts';
import type { DetectionProbes, RegistryValue } from './probes/types.ts';

export interface DetectionTraceEntry {
  rule: string;
  /** true/false: the rule holds or not; null: unknown (see `detail`). */
  matched: boolean | null;
  detail: string;
}

export interface DetectionResult {
  /** null: unknown, because a rule that decides it could not be evaluated (`reason` says which and why). */
  detected: boolean | null;
  reason?: string;
  trace: DetectionTraceEntry[];
  /** Rules were evaluated beyond the trace's bound. */
  traceTruncated: boolean;
}

export interface DetectionOptions {
  signal?: AbortSignal;
  /** Default 32 (MAX_DETECTION_RULES: a valid tree fits). */
  maxTraceEntries?: number;
}

export const TRACE_TEXT_MAX = 300;
const DEFAULT_TRACE_ENTRIES = 32;

const clip = (s: string): string => (s.length <= TRACE_TEXT_MAX ? s : `${s.slice(0, TRACE_TEXT_MAX - 1)}…`);
const quote = (s: string): string => JSON.stringify(s);
const versionSuffix = (v: readonly VersionConstraint[] | undefined): string => (v ? ` ${describeConstraints(v)}` : '');

/** One line per rule, for traces: what it checks, never a script's text. */
export function describeRule(rule: DetectionRule): string {
  switch (rule.type) {
    case 'msi_product_code':
      return `MSI product ${rule.productCode}${versionSuffix(rule.version)}`;
    case 'msi_upgrade_code':
      return `MSI upgrade code ${rule.upgradeCode}${versionSuffix(rule.version)}`;
    case 'registry': {
      const where = `${rule.hive}\\${rule.key}${rule.valueName === undefined ? '' : ` value ${quote(rule.valueName)}`} (${rule.view}-bit)`;
      const what =
        rule.check === 'equals'
          ? ` equals ${rule.value === undefined ? '(no value given)' : quote(rule.value)}`
          : rule.check === 'version'
            ? ` version${versionSuffix(rule.version)}`
            : ` ${rule.check.replace('_', ' ')}`;
      return `registry ${where}${what}`;
    }
    case 'file':
      return `file ${rule.path} ${rule.check === 'version' ? `version${versionSuffix(rule.version)}` : rule.check === 'sha256' ? `sha256 ${rule.sha256 ?? '(none given)'}` : rule.check.replace('_', ' ')}`;
    case 'service':
      return `service ${rule.name} ${rule.state}`;
    case 'linux_package':
      return `${rule.manager} package ${rule.name}${versionSuffix(rule.version)}`;
    case 'script':
      return `${rule.interpreter} script (${rule.script.split('\n').length} lines, timeout ${rule.timeoutSeconds}s)`;
  }
}

interface RuleOutcome {
  matched: boolean | null;
  detail: string;
}

const unknown = (detail: string): RuleOutcome => ({ matched: null, detail });
const outcome = (matched: boolean, detail: string): RuleOutcome => ({ matched, detail });

function versionOutcome(
  version: string | undefined,
  constraints: readonly VersionConstraint[],
  scheme: VersionScheme,
  what: string,
): RuleOutcome {
  if (version === undefined) return unknown(`${what}, but its version could not be read`);
  const ok = satisfies(version, constraints, scheme);
  return outcome(ok, `${what} at version ${version}${ok ? '' : `, not ${describeConstraints(constraints)}`}`);
}

/**
 * Registry data as the text `equals` and `version` compare: strings as stored (REG_EXPAND_SZ unexpanded, as
 * reg.exe shows it), DWORD/QWORD in decimal, binary in lowercase hex. Null for multi-strings (see below).
 */
export function registryDataText(value: RegistryValue): string | null {
  switch (value.type) {
    case 'REG_SZ':
    case 'REG_EXPAND_SZ':
    case 'other':
      return value.data;
    case 'REG_DWORD':
      return String(value.data);
    case 'REG_QWORD':
      return value.data.toString();
    case 'REG_BINARY':
      return Array.from(value.data, (b) => b.toString(16).padStart(2, '0')).join('');
    case 'REG_MULTI_SZ':
      return null;
  }
}

function registryOutcome(
  rule: Extract<DetectionRule, { type: 'registry' }>,
  keyExists: boolean,
  value: RegistryValue | undefined,
): RuleOutcome {
  const byKey = rule.valueName === undefined && (rule.check === 'exists' || rule.check === 'not_exists');
  const subject = byKey ? 'the key' : rule.valueName ? 'the value' : 'the default value';
  const present = byKey ? keyExists : value !== undefined;
  switch (rule.check) {
    case 'exists':
      return outcome(present, `${subject} ${present ? 'exists' : 'does not exist'}`);
    case 'not_exists':
      return outcome(!present, `${subject} ${present ? 'exists' : 'does not exist'}`);
    case 'equals': {
      if (rule.value === undefined) return unknown('an equals check needs a value to compare with');
      if (value === undefined) return outcome(false, `${subject} does not exist`);
      if (value.type === 'REG_MULTI_SZ') {
        // A multi-string equals when one of its strings does (the way admins list e.g. installed features).
        const ok = value.data.includes(rule.value);
        return outcome(ok, `REG_MULTI_SZ ${ok ? 'contains' : 'does not contain'} ${quote(rule.value)}`);
      }
      const text = registryDataText(value) ?? '';
      const ok = text === rule.value;
      return outcome(ok, `${value.type === 'other' ? value.rawType : value.type} ${quote(text)}`);
    }
    case 'version': {
      if (!rule.version) return unknown('a version check needs version constraints');
      if (value === undefined) return outcome(false, `${subject} does not exist`);
      const text = registryDataText(value);
      if (text === null || value.type === 'REG_BINARY') return outcome(false, `${value.type} data is not a version`);
      return versionOutcome(text, rule.version, 'generic', value.type === 'other' ? value.rawType : value.type);
    }
  }
}

async function evaluateRule(rule: DetectionRule, probes: DetectionProbes): Promise<RuleOutcome> {
  switch (rule.type) {
    case 'msi_product_code': {
      const r = await probes.msiProduct(rule.productCode);
      if (!r.installed) return outcome(false, 'not installed');
      if (!rule.version) return outcome(true, `installed${r.version ? ` at version ${r.version}` : ''}`);
      return versionOutcome(r.version, rule.version, 'msi', 'installed');
    }
    case 'msi_upgrade_code': {
      const products = await probes.msiProductsByUpgradeCode(rule.upgradeCode);
      if (products.length === 0) return outcome(false, 'no product of this upgrade code is installed');
      const list = products.map((p) => `${p.productCode} ${p.version ?? '(version unknown)'}`).join(', ');
      if (!rule.version) return outcome(true, `installed: ${list}`);
      const constraints = rule.version;
      if (products.some((p) => p.version !== undefined && satisfies(p.version, constraints, 'msi')))
        return outcome(true, `installed: ${list}`);
      if (products.some((p) => p.version === undefined)) return unknown(`installed, but a version could not be read: ${list}`);
      return outcome(false, `installed, none ${describeConstraints(constraints)}: ${list}`);
    }
    case 'registry': {
      // equals/version without a value name compare the key's default value (asked for as '').
      const valueName = rule.valueName ?? (rule.check === 'equals' || rule.check === 'version' ? '' : undefined);
      const r = await probes.registryValue(rule.hive, rule.key, valueName, rule.view);
      if (!r.keyExists)
        return rule.check === 'not_exists' ? outcome(true, 'the key does not exist') : outcome(false, 'the key does not exist');
      return registryOutcome(rule, r.keyExists, r.value);
    }
    case 'file': {
      if (rule.check === 'version' && !rule.version) return unknown('a version check needs version constraints');
      if (rule.check === 'sha256' && !rule.sha256) return unknown('a sha256 check needs a SHA-256 to compare with');
      const f = await probes.file(rule.path);
      if (rule.check === 'exists' || rule.check === 'not_exists') {
        return outcome(f.exists === (rule.check === 'exists'), f.exists ? 'exists' : 'does not exist');
      }
      if (!f.exists) return outcome(false, 'does not exist');
      if (rule.check === 'version') {
        const version = f.version ? await f.version() : undefined;
        if (version === undefined) return outcome(false, 'exists but has no version resource');
        return versionOutcome(version, rule.version ?? [], 'generic', 'exists');
      }
      if (!f.sha256) return outcome(false, 'exists but is not a regular file');
      const digest = await f.sha256();
      const ok = digest.toLowerCase() === (rule.sha256 ?? '').toLowerCase();
      return outcome(ok, `SHA-256 ${digest}`);
    }
    case 'service': {
      const s = await probes.service(rule.name);
      if (!s.exists) return outcome(false, 'does not exist');
      if (rule.state === 'exists')
        return outcome(true, s.running === undefined ? 'exists' : s.running ? 'exists, running' : 'exists, stopped');
      if (s.running === undefined) return unknown('exists, but whether it runs could not be read');
      return outcome(s.running === (rule.state === 'running'), s.running ? 'running' : 'stopped');
    }
    case 'linux_package': {
      const p = await probes.linuxPackage(rule.manager, rule.name);
      if (!p.installed) return outcome(false, 'not installed');
      if (!rule.version) return outcome(true, `installed${p.version ? ` at version ${p.version}` : ''}`);
      return versionOutcome(p.version, rule.version, rule.manager, 'installed');
    }
    case 'script': {
      const { exitCode } = await probes.runScript(rule.interpreter, rule.script, rule.timeoutSeconds);
      return outcome(exitCode === 0, `exit code ${exitCode}`);
    }
  }
}

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Evaluates a detection tree (see the module comment). Throws only when `signal` aborts. */
export async function evaluateDetection(
  detection: Detection,
  probes: DetectionProbes,
  opts: DetectionOptions = {},
): Promise<DetectionResult> {
  const maxTrace = opts.maxTraceEntries ?? DEFAULT_TRACE_ENTRIES;
  const trace: DetectionTraceEntry[] = [];
  let traceTruncated = false;
  let firstUnknown: string | undefined;

  const visit = async (node: Detection): Promise<boolean | null> => {
    if ('all' in node || 'any' in node) {
      const isAll = 'all' in node;
      const children = isAll ? node.all : node.any;
      let sawUnknown = false;
      for (const child of children) {
        const r = await visit(child);
        if (r === !isAll) return r; // all: a false decides; any: a true decides
        if (r === null) sawUnknown = true;
      }
      return sawUnknown ? null : isAll;
    }
    opts.signal?.throwIfAborted();
    const summary = describeRule(node);
    let r: RuleOutcome;
    try {
      r = await evaluateRule(node, probes);
    } catch (e) {
      opts.signal?.throwIfAborted();
      r = unknown(`probe failed: ${errorMessage(e)}`);
    }
    if (r.matched === null) firstUnknown ??= clip(`${summary}: ${r.detail}`);
    if (trace.length < maxTrace) trace.push({ rule: clip(summary), matched: r.matched, detail: clip(r.detail) });
    else traceTruncated = true;
    return r.matched;
  };

  const detected = await visit(detection);
  return { detected, ...(detected === null ? { reason: firstUnknown } : {}), trace, traceTruncated };
}

/**
 * Expands `%VAR%` references the way Windows' ExpandEnvironmentStrings does: names are case-insensitive, an
 * unknown variable is left as written (so `%ProgramFiles(x86)%` on a 32-bit system names no file rather than
 * the wrong one), and `%%` or a lone `%` stays literal.
 */
export function expandWindowsPath(path: string, env: Readonly<Record<string, string | undefined>>): string {
  const lookup = new Map<string, string>();
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !lookup.has(k.toUpperCase())) lookup.set(k.toUpperCase(), v);
  return path.replace(/%([^%\r\n]+)%/g, (whole, name: string) => lookup.get(name.toUpperCase()) ?? whole);
}
