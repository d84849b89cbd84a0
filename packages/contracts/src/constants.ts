/**
 * Value lists that several layers need: the API's schemas build their enums from them, the console shows
 * them in pickers and badges, workflows and activities name them. Zod-free and dependency-free on purpose:
 * the console's browser bundle and workflow code import this module without pulling a validator in.
 */

// ---- users ---------------------------------------------------------------------------------------
/** Roles, weakest last: an admin may do everything an operator may, an operator everything a viewer may. */
export const roles = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof roles)[number];

// ---- devices -------------------------------------------------------------------------------------
export const deviceStatuses = ['online', 'stale', 'offline', 'never_seen'] as const;
export type DeviceStatus = (typeof deviceStatuses)[number];
export const osFamilies = ['windows', 'linux', 'macos', 'other'] as const;
export type OsFamily = (typeof osFamilies)[number];
/** Which devices a list shows: active ones (the default), retired ones, or all. */
export const deviceLifecycles = ['active', 'retired', 'all'] as const;
export type DeviceLifecycle = (typeof deviceLifecycles)[number];
export const deviceSortKeys = ['hostname', 'lastSeenAt', 'osName', 'enrolledAt'] as const;
export type DeviceSortKey = (typeof deviceSortKeys)[number];
export const sortOrders = ['asc', 'desc'] as const;
export type SortOrder = (typeof sortOrders)[number];
/** Kinds of change in a device's inventory history (its timeline). */
export const inventoryEventKinds = [
  'software_installed',
  'software_removed',
  'software_upgraded',
  'os_changed',
  'hardware_changed',
  'ip_changed',
  'domain_changed',
  'hostname_changed',
  'security_changed',
  'inventory_first_report',
] as const;
export type InventoryEventKind = (typeof inventoryEventKinds)[number];

// ---- groups, tags and custom fields --------------------------------------------------------------
export const groupKinds = ['static', 'dynamic'] as const;
export type GroupKind = (typeof groupKinds)[number];
export const membershipChanges = ['added', 'removed'] as const;
export const customFieldTypes = ['text', 'number', 'boolean', 'date', 'enum'] as const;
export type CustomFieldType = (typeof customFieldTypes)[number];

// ---- rule operators (dynamic groups) -------------------------------------------------------------
export const stringOps = [
  'equals',
  'not_equals',
  'contains',
  'not_contains',
  'starts_with',
  'ends_with',
  'regex',
  'in',
  'not_in',
  'exists',
  'not_exists',
] as const;
export const numberOps = ['equals', 'not_equals', 'gt', 'gte', 'lt', 'lte', 'in', 'not_in', 'exists', 'not_exists'] as const;
export const versionOps = [
  'version_eq',
  'version_neq',
  'version_gt',
  'version_gte',
  'version_lt',
  'version_lte',
  'exists',
  'not_exists',
] as const;
export const listOps = ['contains', 'not_contains', 'exists', 'not_exists'] as const;
export const booleanOps = ['equals', 'not_equals', 'exists', 'not_exists'] as const;
export type RuleOperator = (typeof stringOps | typeof numberOps | typeof versionOps | typeof listOps | typeof booleanOps)[number];
/** Every operator a field condition may use (which ones a field accepts depends on its type). */
export const ruleOperators = [...new Set([...stringOps, ...numberOps, ...versionOps, ...listOps, ...booleanOps])] as [
  RuleOperator,
  ...RuleOperator[],
];
/** How a software condition matches the name. */
export const softwareNameMatches = ['equals', 'contains', 'starts_with', 'regex'] as const;
/** Version comparisons of a software condition. */
export const softwareVersionOps = ['version_eq', 'version_neq', 'version_gt', 'version_gte', 'version_lt', 'version_lte'] as const;

// ---- job runs ------------------------------------------------------------------------------------
/** The shell a command runs in; `default` is the agent's platform default (sh, or cmd on Windows). */
export const shells = ['default', 'sh', 'bash', 'powershell', 'cmd'] as const;
export type Shell = (typeof shells)[number];
/** What runs a stored script (a `script` command). */
export const scriptInterpreters = ['sh', 'bash', 'powershell', 'cmd', 'python'] as const;
export type ScriptInterpreter = (typeof scriptInterpreters)[number];
/** How a run ended (see `jobRunStatus` in api.ts for what decides each). */
export const finalJobRunStatuses = ['succeeded', 'partially_succeeded', 'failed', 'timed_out', 'unreachable', 'cancelled'] as const;
export type FinalJobRunStatus = (typeof finalJobRunStatuses)[number];
/** How a run of a job that needs approval ends without running: nobody approved it in time, or it was rejected. */
export const unapprovedJobRunStatuses = ['rejected', 'expired'] as const;
export type UnapprovedJobRunStatus = (typeof unapprovedJobRunStatuses)[number];
export const jobRunStatuses = ['awaiting_approval', 'queued', 'running', ...finalJobRunStatuses, ...unapprovedJobRunStatuses] as const;
export type JobRunStatus = (typeof jobRunStatuses)[number];
/** Where one device stands in a run. */
export const deviceRunStatuses = ['pending', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'offline'] as const;
export type DeviceRunStatus = (typeof deviceRunStatuses)[number];
export const outputStreams = ['stdout', 'stderr'] as const;
export type OutputStream = (typeof outputStreams)[number];
/** How the admin API returns output: `text` (UTF-8, invalid bytes as U+FFFD) or `base64` (the bytes exactly). */
export const outputViewEncodings = ['text', 'base64'] as const;

// ---- audit log -----------------------------------------------------------------------------------
export const auditActorTypes = ['user', 'api_key', 'device', 'system'] as const;
export type AuditActorType = (typeof auditActorTypes)[number];

// ---- software depot ------------------------------------------------------------------------------
/** What a package runs on. */
export const packagePlatforms = ['windows', 'linux', 'macos'] as const;
export type PackagePlatform = (typeof packagePlatforms)[number];
/**
 * How a version installs: from an artifact (msi … archive) or by name through the device's package manager
 * (apt … chocolatey: no artifact, the manager fetches it from the repositories the device is configured for).
 */
export const installerTypes = [
  'msi',
  'exe',
  'msix',
  'ps1',
  'sh',
  'deb',
  'rpm',
  'archive',
  'apt',
  'dnf',
  'pacman',
  'winget',
  'chocolatey',
] as const;
export type InstallerType = (typeof installerTypes)[number];
/** Installer types a package manager installs by name, with no artifact in the depot. */
export const packageManagerInstallerTypes = ['apt', 'dnf', 'pacman', 'winget', 'chocolatey'] as const satisfies readonly InstallerType[];
/**
 * What the device does when an installer says a restart is needed (a reboot exit code such as 3010):
 * `never` only reports it; `if_required` restarts when the installer asks; `always` restarts after every
 * install.
 */
export const rebootBehaviours = ['never', 'if_required', 'always'] as const;
export type RebootBehaviour = (typeof rebootBehaviours)[number];
export const cpuArchitectures = ['x64', 'arm64', 'x86'] as const;
export type CpuArchitecture = (typeof cpuArchitectures)[number];
/** Where the depot finds an artifact's bytes (ADR 23). */
export const depotSourceKinds = ['depot', 's3', 'http', 'share'] as const;
export type DepotSourceKind = (typeof depotSourceKinds)[number];
/**
 * How a `software.install` / `software.uninstall` command ended on the device, precisely (the command's status
 * says only succeeded or failed).
 */
export const softwareOutcomes = [
  'installed',
  'already_installed',
  'uninstalled',
  'not_installed',
  'reboot_required',
  'failed',
  'requirement_not_met',
  'hash_mismatch',
  'signature_invalid',
  'download_failed',
  'detection_failed',
  /**
   * The command's network policy says to skip metered connections and the device is on one: nothing was downloaded
   * or installed; a later attempt may find it on another connection (retryable).
   */
  'deferred_metered',
] as const;
export type SoftwareOutcome = (typeof softwareOutcomes)[number];
/** Outcomes in which the device ends in the state the command asked for. */
export const successfulSoftwareOutcomes = [
  'installed',
  'already_installed',
  'uninstalled',
  'not_installed',
  'reboot_required',
] as const satisfies readonly SoftwareOutcome[];

/** Where a device stands against a software assignment (the device list's `compliance` filter, the fleet summary). */
export const assignmentComplianceStates = ['compliant', 'non_compliant', 'pending'] as const;
export type AssignmentComplianceState = (typeof assignmentComplianceStates)[number];
