/**
 * The detection rule builder's model: a package version's `detection` (`@opsconductor/contracts/software`: AND/OR
 * groups of msi, registry, file, service, Linux package and script rules) as an editable tree with stable node ids,
 * conversions both ways, the JSON path of every node (the API reports errors by path, e.g.
 * `detection.all.1.productCode`), readable lines for the package page, and the rules an uploaded artifact's
 * metadata suggests. The same approach as the group rule builder's (rule-tree.ts).
 *
 * Pure and browser-safe: only *types* come from the contracts' zod module; the few option lists and patterns the
 * builder needs are repeated here and checked against the contracts by detection-tree.test.ts.
 */
import type { ScriptInterpreter } from '@opsconductor/contracts/constants';
import type { Detection, DetectionRule, VersionComparison, VersionConstraint } from '@opsconductor/contracts/software';
import { appendTreeChild, nodeForPath, normalizeErrorPath, removeTreeNode, updateTreeNode } from './rule-tree';

// ---- what the contracts allow (kept equal by the tests) -------------------------------------------------

export const detectionRuleTypes = [
  'msi_product_code',
  'msi_upgrade_code',
  'registry',
  'file',
  'service',
  'linux_package',
  'script',
] as const satisfies ReadonlyArray<DetectionRule['type']>;
export type DetectionRuleType = (typeof detectionRuleTypes)[number];

type RuleOf<T extends DetectionRuleType> = Extract<DetectionRule, { type: T }>;

export const detectionRuleTypeLabels: Record<DetectionRuleType, string> = {
  msi_product_code: 'MSI product code',
  msi_upgrade_code: 'MSI upgrade code',
  registry: 'Registry',
  file: 'File',
  service: 'Service',
  linux_package: 'Linux package',
  script: 'Script',
};

export const versionComparisonOps = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte'] as const satisfies readonly VersionComparison[];
export const versionComparisonLabels: Record<VersionComparison, string> = { eq: '=', neq: '≠', gt: '>', gte: '≥', lt: '<', lte: '≤' };
export const registryHives = ['HKLM', 'HKCU', 'HKCR', 'HKU'] as const satisfies ReadonlyArray<RuleOf<'registry'>['hive']>;
export const registryViews = ['64', '32'] as const satisfies ReadonlyArray<RuleOf<'registry'>['view']>;
export const registryChecks = ['exists', 'not_exists', 'equals', 'version'] as const satisfies ReadonlyArray<RuleOf<'registry'>['check']>;
export const fileChecks = ['exists', 'not_exists', 'version', 'sha256'] as const satisfies ReadonlyArray<RuleOf<'file'>['check']>;
export const serviceStates = ['exists', 'running', 'stopped'] as const satisfies ReadonlyArray<RuleOf<'service'>['state']>;
export const linuxPackageManagers = ['dpkg', 'rpm', 'pacman'] as const satisfies ReadonlyArray<RuleOf<'linux_package'>['manager']>;
export const detectionInterpreters = ['sh', 'bash', 'powershell', 'cmd', 'python'] as const satisfies readonly ScriptInterpreter[];

export const MSI_GUID = /^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$/;
export const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+~:_-]{0,127}$/;
export const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9.+_-]{0,127}$/;
const SHA256 = /^[0-9a-f]{64}$/;
export const MAX_DEPTH = 4;
export const MAX_RULES = 32;
/** Constraints per rule the builder offers: one, or two for a range (the API takes up to four). */
export const MAX_VERSION_ROWS = 2;

// ---- tree ------------------------------------------------------------------------------------------------

export type VersionRow = { op: VersionComparison; value: string };

/** Every rule type's fields as the form holds them (text as typed); `serializeDetection` keeps the type's own. */
export type RuleDraft = {
  type: DetectionRuleType;
  productCode: string;
  upgradeCode: string;
  hive: RuleOf<'registry'>['hive'];
  key: string;
  valueName: string;
  view: RuleOf<'registry'>['view'];
  registryCheck: RuleOf<'registry'>['check'];
  value: string;
  path: string;
  fileCheck: RuleOf<'file'>['check'];
  sha256: string;
  serviceName: string;
  state: RuleOf<'service'>['state'];
  manager: RuleOf<'linux_package'>['manager'];
  packageName: string;
  interpreter: ScriptInterpreter;
  script: string;
  timeoutSeconds: string;
  /** Version constraints: all must hold; empty is any version (where the type allows leaving it out). */
  versions: VersionRow[];
};

export type DetectionGroup = { id: string; kind: 'group'; combinator: 'all' | 'any'; children: DetectionNode[] };
export type DetectionLeaf = { id: string; kind: 'rule'; rule: RuleDraft };
export type DetectionNode = DetectionGroup | DetectionLeaf;

let counter = 0;
/** Ids of nodes made in the browser (parsed trees number their nodes deterministically, for hydration). */
export function newDetectionId(): string {
  counter += 1;
  return `d-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export function emptyRuleDraft(type: DetectionRuleType = 'msi_product_code'): RuleDraft {
  return {
    type,
    productCode: '',
    upgradeCode: '',
    hive: 'HKLM',
    key: '',
    valueName: '',
    view: '64',
    registryCheck: 'exists',
    value: '',
    path: '',
    fileCheck: 'exists',
    sha256: '',
    serviceName: '',
    state: 'exists',
    manager: 'dpkg',
    packageName: '',
    interpreter: 'powershell',
    script: '',
    timeoutSeconds: '60',
    versions: [],
  };
}

export function emptyLeaf(type: DetectionRuleType = 'msi_product_code', id = newDetectionId()): DetectionLeaf {
  return { id, kind: 'rule', rule: emptyRuleDraft(type) };
}
export function emptyDetectionGroup(id = newDetectionId(), children: DetectionNode[] = []): DetectionGroup {
  return { id, kind: 'group', combinator: 'any', children };
}

/** Whether a rule's version constraints are required (a version check) rather than optional (any version). */
export function versionsRequired(rule: RuleDraft): boolean {
  return (rule.type === 'registry' && rule.registryCheck === 'version') || (rule.type === 'file' && rule.fileCheck === 'version');
}
/** Whether the rule type takes version constraints at all. */
export function takesVersions(rule: RuleDraft): boolean {
  return ['msi_product_code', 'msi_upgrade_code', 'linux_package'].includes(rule.type) || versionsRequired(rule);
}

export const updateDetectionNode = (root: DetectionGroup, id: string, update: (node: DetectionNode) => DetectionNode): DetectionGroup =>
  updateTreeNode<DetectionNode, DetectionGroup>(root, id, update);
export const removeDetectionNode = (root: DetectionGroup, id: string): DetectionGroup =>
  removeTreeNode<DetectionNode, DetectionGroup>(root, id);
export const appendDetectionChild = (root: DetectionGroup, groupId: string, child: DetectionNode): DetectionGroup =>
  appendTreeChild<DetectionNode, DetectionGroup>(root, groupId, child);

/** Sets fields of the rule `id`; changing its type keeps what the types share (the version constraints). */
export function patchRule(root: DetectionGroup, id: string, patch: Partial<RuleDraft>): DetectionGroup {
  return updateDetectionNode(root, id, (n) => (n.kind === 'rule' ? { ...n, rule: { ...n.rule, ...patch } } : n));
}

// ---- JSON → tree -----------------------------------------------------------------------------------------

export type DetectionParse = { ok: true; root: DetectionGroup } | { ok: false; error: string };

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const str = (x: unknown): string => (typeof x === 'string' ? x : typeof x === 'number' ? String(x) : '');
function oneOf<T extends string>(values: readonly T[], x: unknown, fallback: T): T {
  return typeof x === 'string' && (values as readonly string[]).includes(x) ? (x as T) : fallback;
}

function versionRows(x: unknown): VersionRow[] {
  if (!Array.isArray(x)) return [];
  return x.filter(isObject).map((c) => ({ op: oneOf(versionComparisonOps, c.op, 'eq'), value: str(c.value) }));
}

function ruleDraftOf(x: Record<string, unknown>, type: DetectionRuleType): RuleDraft {
  const d = emptyRuleDraft(type);
  const versions = versionRows(x.version);
  switch (type) {
    case 'msi_product_code':
      return { ...d, productCode: str(x.productCode), versions };
    case 'msi_upgrade_code':
      return { ...d, upgradeCode: str(x.upgradeCode), versions };
    case 'registry':
      return {
        ...d,
        hive: oneOf(registryHives, x.hive, 'HKLM'),
        key: str(x.key),
        valueName: str(x.valueName),
        view: oneOf(registryViews, x.view, '64'),
        registryCheck: oneOf(registryChecks, x.check, 'exists'),
        value: str(x.value),
        versions,
      };
    case 'file':
      return { ...d, path: str(x.path), fileCheck: oneOf(fileChecks, x.check, 'exists'), sha256: str(x.sha256), versions };
    case 'service':
      return { ...d, serviceName: str(x.name), state: oneOf(serviceStates, x.state, 'exists') };
    case 'linux_package':
      return { ...d, manager: oneOf(linuxPackageManagers, x.manager, 'dpkg'), packageName: str(x.name), versions };
    case 'script':
      return {
        ...d,
        interpreter: oneOf(detectionInterpreters, x.interpreter, 'powershell'),
        script: str(x.script),
        timeoutSeconds: x.timeoutSeconds === undefined ? '60' : str(x.timeoutSeconds),
      };
  }
}

/**
 * Reads a stored detection (or null: none) into a tree whose root is a group: a lone rule becomes "ANY of: that
 * rule". Checks the shape only; the API validates the rules.
 */
export function detectionToTree(json: unknown): DetectionParse {
  let n = 0;
  const id = () => `d${n++}`;
  const parse = (x: unknown, where: string): DetectionNode => {
    if (!isObject(x)) throw new Error(`Expected an object at ${where || 'the top'}`);
    for (const combinator of ['all', 'any'] as const) {
      if (combinator in x) {
        const list = x[combinator];
        if (!Array.isArray(list)) throw new Error(`"${combinator}" must be a list at ${where || 'the top'}`);
        const nodeId = id();
        return {
          id: nodeId,
          kind: 'group',
          combinator,
          children: list.map((c, i) => parse(c, `${where}${where ? '.' : ''}${combinator}.${i}`)),
        };
      }
    }
    const type = x.type;
    if (typeof type !== 'string' || !(detectionRuleTypes as readonly string[]).includes(type)) {
      throw new Error(`Unknown rule type ${JSON.stringify(type)} at ${where || 'the top'}`);
    }
    return { id: id(), kind: 'rule', rule: ruleDraftOf(x, type as DetectionRuleType) };
  };
  if (json === null || json === undefined) return { ok: true, root: emptyDetectionGroup(id()) };
  try {
    const node = parse(json, '');
    if (node.kind === 'group') return { ok: true, root: node };
    return { ok: true, root: { id: id(), kind: 'group', combinator: 'any', children: [node] } };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

// ---- tree → JSON -----------------------------------------------------------------------------------------

export type DetectionProblem = { nodeId: string; message: string };
export type SerializedDetection = {
  /** The detection to send; null while a problem remains, or when the root has no rules (no detection). */
  detection: Detection | null;
  /** Whether the tree holds no rule at all (the version is then installed without a detection check). */
  empty: boolean;
  draft: unknown;
  /** JSON path below `detection` ('' for the root) → node id. */
  paths: Map<string, string>;
  problems: DetectionProblem[];
};

function serializeVersions(rule: RuleDraft, required: boolean, problem: (m: string) => void): VersionConstraint[] | undefined {
  const rows = rule.versions.filter((r) => r.value.trim() !== '' || required);
  if (rows.length === 0) {
    if (required) problem('Enter a version to compare with');
    return undefined;
  }
  for (const r of rows) if (!VERSION.test(r.value.trim())) problem(`“${r.value.trim()}” is not a version such as 1.2.3`);
  return rows.map((r) => ({ op: r.op, value: r.value.trim() }));
}

/** One rule as the API takes it, reporting what is missing. */
export function serializeRule(rule: RuleDraft, problem: (message: string) => void): DetectionRule {
  const optionalVersions = () => serializeVersions(rule, false, problem);
  const withVersion = <T extends object>(base: T, version: VersionConstraint[] | undefined) => (version ? { ...base, version } : base);
  switch (rule.type) {
    case 'msi_product_code': {
      const productCode = rule.productCode.trim();
      if (!MSI_GUID.test(productCode)) problem('Enter the product code, a GUID in braces: {12345678-ABCD-…}');
      return withVersion({ type: 'msi_product_code' as const, productCode }, optionalVersions());
    }
    case 'msi_upgrade_code': {
      const upgradeCode = rule.upgradeCode.trim();
      if (!MSI_GUID.test(upgradeCode)) problem('Enter the upgrade code, a GUID in braces: {12345678-ABCD-…}');
      return withVersion({ type: 'msi_upgrade_code' as const, upgradeCode }, optionalVersions());
    }
    case 'registry': {
      const key = rule.key.trim();
      if (!key) problem('Enter a key below the hive, e.g. SOFTWARE\\Vendor\\App');
      else if (key.startsWith('\\')) problem('The key starts below the hive: leave out the leading backslash');
      const out: RuleOf<'registry'> = { type: 'registry', hive: rule.hive, key, view: rule.view, check: rule.registryCheck };
      if (rule.valueName.trim()) out.valueName = rule.valueName.trim();
      if (rule.registryCheck === 'equals') {
        if (!out.valueName) problem('Name the value whose data is compared');
        out.value = rule.value;
      }
      if (rule.registryCheck === 'version') {
        if (!out.valueName) problem('Name the value whose data is compared');
        const version = serializeVersions(rule, true, problem);
        if (version) out.version = version;
      }
      return out;
    }
    case 'file': {
      const path = rule.path.trim();
      if (path.length < 2) problem('Enter a path, e.g. %ProgramFiles%\\Vendor\\app.exe');
      const out: RuleOf<'file'> = { type: 'file', path, check: rule.fileCheck };
      if (rule.fileCheck === 'version') {
        const version = serializeVersions(rule, true, problem);
        if (version) out.version = version;
      }
      if (rule.fileCheck === 'sha256') {
        const sha256 = rule.sha256.trim().toLowerCase();
        if (!SHA256.test(sha256)) problem('Enter the SHA-256 as 64 hex digits');
        out.sha256 = sha256;
      }
      return out;
    }
    case 'service': {
      const name = rule.serviceName.trim();
      if (!name) problem('Enter the service name');
      return { type: 'service', name, state: rule.state };
    }
    case 'linux_package': {
      const name = rule.packageName.trim();
      if (!PACKAGE_NAME.test(name)) problem('Enter the package name, e.g. nginx');
      return withVersion({ type: 'linux_package' as const, manager: rule.manager, name }, optionalVersions());
    }
    case 'script': {
      if (!rule.script.trim()) problem('Write the script: exit code 0 means installed');
      const timeout = Number(rule.timeoutSeconds.trim());
      if (!Number.isInteger(timeout) || timeout < 1 || timeout > 600) problem('The timeout is 1 to 600 seconds');
      return { type: 'script', interpreter: rule.interpreter, script: rule.script, timeoutSeconds: timeout };
    }
  }
}

export function serializeDetection(root: DetectionGroup): SerializedDetection {
  const paths = new Map<string, string>();
  const problems: DetectionProblem[] = [];
  let rules = 0;
  let depth = 0;
  const join = (a: string, b: string | number) => (a ? `${a}.${b}` : String(b));
  const go = (node: DetectionNode, path: string, level: number): unknown => {
    paths.set(path, node.id);
    depth = Math.max(depth, level);
    if (node.kind === 'rule') {
      rules += 1;
      return serializeRule(node.rule, (message) => problems.push({ nodeId: node.id, message }));
    }
    if (node.children.length === 0 && level > 1) problems.push({ nodeId: node.id, message: 'Add a rule to this group, or remove it' });
    return { [node.combinator]: node.children.map((c, i) => go(c, join(join(path, node.combinator), i), level + 1)) };
  };
  const draft = go(root, '', 1);
  if (depth > MAX_DEPTH) problems.push({ nodeId: root.id, message: `Groups nest at most ${MAX_DEPTH} levels deep` });
  if (rules > MAX_RULES) problems.push({ nodeId: root.id, message: `At most ${MAX_RULES} rules` });
  const empty = root.children.length === 0;
  return { detection: empty || problems.length > 0 ? null : (draft as Detection), empty, draft: empty ? null : draft, paths, problems };
}

// ---- errors by node --------------------------------------------------------------------------------------

/** `body.detection.all[1].productCode`, `/detection/all/1/productCode` → `all.1.productCode`. */
export const normalizeDetectionPath = (path: string): string => normalizeErrorPath(path, 'detection');

/** The node an error path points at: the longest known path that is a prefix of it. */
export const detectionNodeForPath = (paths: Map<string, string>, errorPath: string): string | undefined =>
  nodeForPath(paths, errorPath, 'detection');

// ---- readable lines ----------------------------------------------------------------------------------------

export type DetectionLine = { kind: 'group'; combinator: 'all' | 'any'; children: DetectionLine[] } | { kind: 'rule'; text: string };

/** A stored detection as nested lines for the package page; `describe` words one rule (packages/software's describeRule). */
export function detectionLines(detection: Detection, describe: (rule: DetectionRule) => string): DetectionLine {
  if ('all' in detection) return { kind: 'group', combinator: 'all', children: detection.all.map((d) => detectionLines(d, describe)) };
  if ('any' in detection) return { kind: 'group', combinator: 'any', children: detection.any.map((d) => detectionLines(d, describe)) };
  return { kind: 'rule', text: describe(detection) };
}

// ---- from an artifact's metadata ---------------------------------------------------------------------------

/** What packages/package-metadata read from an uploaded installer, as the depot keeps it (all optional). */
export type ArtifactMetadata = {
  format?: string;
  installerType?: string;
  name?: string;
  version?: string;
  vendor?: string;
  productCode?: string;
  upgradeCode?: string;
  packageName?: string;
  architecture?: string;
  platform?: string;
  /** An exe's installer framework (inno, nsis, burn, installshield), from its markers. */
  installerFramework?: string;
  warnings?: string[];
};

/** Reads an artifact's `metadata` leniently: only strings that are strings. */
export function readArtifactMetadata(metadata: Record<string, unknown> | null | undefined): ArtifactMetadata {
  const out: ArtifactMetadata = {};
  if (!metadata) return out;
  for (const k of [
    'format',
    'installerType',
    'name',
    'version',
    'vendor',
    'productCode',
    'upgradeCode',
    'packageName',
    'architecture',
    'platform',
    'installerFramework',
  ] as const) {
    const v = metadata[k];
    if (typeof v === 'string' && v) out[k] = v;
  }
  if (Array.isArray(metadata.warnings)) out.warnings = metadata.warnings.filter((w): w is string => typeof w === 'string');
  return out;
}

/**
 * The detection rule an installer's metadata suggests: its MSI product code, or its deb/rpm package at exactly its
 * version; null when it says nothing usable.
 */
export function suggestedDetectionRule(meta: ArtifactMetadata): RuleDraft | null {
  const version = meta.version && VERSION.test(meta.version) ? [{ op: 'eq' as const, value: meta.version }] : [];
  if (meta.productCode && MSI_GUID.test(meta.productCode)) return { ...emptyRuleDraft('msi_product_code'), productCode: meta.productCode };
  if (meta.packageName && PACKAGE_NAME.test(meta.packageName) && (meta.format === 'deb' || meta.format === 'rpm')) {
    return {
      ...emptyRuleDraft('linux_package'),
      manager: meta.format === 'deb' ? 'dpkg' : 'rpm',
      packageName: meta.packageName,
      versions: version,
    };
  }
  return null;
}
