/**
 * Dynamic-group rules: a JSON tree of `all` / `any` / `not` over conditions on device facts, tags,
 * custom fields, group membership and installed software. The console's rule builder and the API share
 * this schema; the API also type-checks each condition against the field catalog (apps/api/src/rules).
 */
import { z } from 'zod';
import {
  type RuleOperator,
  booleanOps,
  deviceStatuses,
  listOps,
  numberOps,
  osFamilies,
  ruleOperators,
  softwareNameMatches,
  softwareVersionOps,
  stringOps,
  versionOps,
} from './constants.ts';

export const MAX_RULE_DEPTH = 12;
export const MAX_RULE_NODES = 300;

// The operator lists live in the zod-free constants module (the console's rule builder reads them).
export { booleanOps, listOps, numberOps, ruleOperators, stringOps, versionOps, type RuleOperator } from './constants.ts';

export type FieldType = 'string' | 'number' | 'boolean' | 'version' | 'list' | 'date';
export interface RuleField {
  key: string;
  label: string;
  type: FieldType;
  /** Known values, for the builder's pickers (enums). */
  values?: readonly string[];
  description?: string;
}

/** Operators a field type accepts. Strings also accept version comparisons (e.g. kernel versions). */
export const operatorsByType: Record<FieldType, readonly RuleOperator[]> = {
  string: [...stringOps, ...versionOps.filter((o) => !o.endsWith('exists'))],
  version: [...versionOps, 'equals', 'not_equals', 'contains', 'starts_with', 'regex', 'in', 'not_in'],
  number: numberOps,
  date: ['gt', 'gte', 'lt', 'lte', 'exists', 'not_exists'],
  boolean: booleanOps,
  list: listOps,
};

/** Every built-in field a condition may name. Custom fields are `customFields.<key>`, typed by their definition. */
export const ruleFields: readonly RuleField[] = [
  { key: 'hostname', label: 'Hostname', type: 'string' },
  { key: 'fqdn', label: 'FQDN', type: 'string' },
  { key: 'os.family', label: 'OS family', type: 'string', values: osFamilies },
  { key: 'os.name', label: 'OS name', type: 'string' },
  { key: 'os.version', label: 'OS version', type: 'version', description: 'e.g. 10.0.22631 on Windows, 12 on Debian' },
  { key: 'os.build', label: 'OS build', type: 'string' },
  { key: 'os.kernel', label: 'Kernel', type: 'string' },
  { key: 'os.architecture', label: 'Architecture', type: 'string', values: ['x64', 'arm64', 'x86', 'arm'] },
  { key: 'agent.version', label: 'Agent version', type: 'version' },
  { key: 'device.lastSeenAgeDays', label: 'Days since last seen', type: 'number' },
  { key: 'device.enrolledAgeDays', label: 'Days since enrollment', type: 'number' },
  { key: 'device.status', label: 'Status', type: 'string', values: deviceStatuses },
  { key: 'network.ipAddresses', label: 'IP addresses', type: 'list' },
  { key: 'hardware.manufacturer', label: 'Manufacturer', type: 'string' },
  { key: 'hardware.model', label: 'Model', type: 'string' },
  { key: 'hardware.serialNumber', label: 'Serial number', type: 'string' },
  { key: 'hardware.chassisType', label: 'Chassis', type: 'string', values: ['desktop', 'laptop', 'server', 'virtual', 'other', 'unknown'] },
  {
    key: 'hardware.virtualization',
    label: 'Virtualization',
    type: 'string',
    values: ['physical', 'kvm', 'vmware', 'hyperv', 'virtualbox', 'xen', 'container', 'other', 'unknown'],
  },
  { key: 'hardware.isVirtual', label: 'Is a virtual machine or container', type: 'boolean' },
  { key: 'hardware.firmwareType', label: 'Firmware', type: 'string', values: ['uefi', 'bios', 'unknown'] },
  { key: 'hardware.memoryBytes', label: 'Memory (bytes)', type: 'number' },
  { key: 'hardware.cpuCores', label: 'CPU cores', type: 'number' },
  { key: 'hardware.biosVersion', label: 'BIOS version', type: 'string' },
  { key: 'directory.type', label: 'Directory membership', type: 'string', values: ['ad', 'realm', 'workgroup', 'none'] },
  { key: 'directory.domain', label: 'Domain', type: 'string' },
  { key: 'system.pendingReboot', label: 'Reboot pending', type: 'boolean' },
  { key: 'system.uptimeDays', label: 'Uptime (days)', type: 'number' },
  { key: 'system.timezone', label: 'Time zone', type: 'string' },
  { key: 'security.sshEnabled', label: 'SSH server enabled', type: 'boolean' },
  { key: 'security.rdpEnabled', label: 'RDP enabled', type: 'boolean' },
  { key: 'security.firewallEnabled', label: 'Firewall enabled', type: 'boolean' },
  { key: 'security.diskEncrypted', label: 'All volumes encrypted', type: 'boolean' },
  { key: 'security.localAdmins', label: 'Local administrators', type: 'list' },
  { key: 'performance.minDiskFreePercent', label: 'Lowest free disk space (%)', type: 'number' },
  { key: 'performance.memoryUsedPercent', label: 'Memory used (%)', type: 'number' },
  { key: 'tags', label: 'Tags', type: 'list' },
];

const scalar = z.union([z.string().max(1000), z.number(), z.boolean()]);

export const fieldCondition = z
  .object({
    field: z.string().min(1).max(200),
    op: z.enum(ruleOperators),
    value: z.union([scalar, z.array(scalar).max(1000)]).optional(),
  })
  .strict();
export type FieldCondition = z.infer<typeof fieldCondition>;

/** "Has software X" (optionally with a version comparison); `present: false` means "does not have". */
export const softwareCondition = z
  .object({
    software: z
      .object({
        name: z.string().min(1).max(300),
        match: z.enum(softwareNameMatches).default('equals'),
        version: z.object({ op: z.enum(softwareVersionOps), value: z.string().min(1).max(100) }).optional(),
      })
      .strict(),
    present: z.boolean().default(true),
  })
  .strict();
export type SoftwareCondition = z.infer<typeof softwareCondition>;

/** Membership of another group (static or dynamic). Cycles are refused. */
export const groupCondition = z.object({ memberOf: z.string().uuid() }).strict();
export type GroupCondition = z.infer<typeof groupCondition>;

export type Rule = { all: Rule[] } | { any: Rule[] } | { not: Rule } | FieldCondition | SoftwareCondition | GroupCondition;

export const rule: z.ZodType<Rule> = z.lazy(() =>
  z.union([
    z.object({ all: z.array(rule).min(1).max(100) }).strict(),
    z.object({ any: z.array(rule).min(1).max(100) }).strict(),
    z.object({ not: rule }).strict(),
    fieldCondition,
    softwareCondition,
    groupCondition,
  ]),
) as z.ZodType<Rule>;
