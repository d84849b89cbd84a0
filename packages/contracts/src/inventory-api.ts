/**
 * Admin-API DTOs for inventory, history, groups, tags and custom fields (issue: inventory & groups).
 * Device list/detail DTOs live in api.ts and are extended here.
 */
import { z } from 'zod';
import { device, deviceFilter, deviceLifecycles, pagination, searchText, tagName, uuid } from './api.ts';
import { inventorySections, inventorySectionNames } from './inventory.ts';
import { rule } from './rules.ts';
import {
  assignmentComplianceStates,
  customFieldTypes,
  deviceSortKeys,
  groupKinds,
  inventoryEventKinds,
  membershipChanges,
  sortOrders,
} from './constants.ts';

export { customFieldTypes, deviceSortKeys, inventoryEventKinds };

// ---- device list: filters, sort -------------------------------------------------------------
export const deviceListFilters = pagination.extend({
  ...deviceFilter.shape,
  sort: z.enum(deviceSortKeys).default('hostname').describe('Sort by'),
  order: z.enum(sortOrders).default('asc').describe('Sort order'),
  lifecycle: z
    .enum(deviceLifecycles)
    .default('active')
    .describe('Active devices (the default), retired ones, or all: retired devices are hidden unless asked for'),
  assignmentId: uuid.optional().describe('Devices this software assignment covers (with `compliance`: those in that state)'),
  compliance: z
    .enum(assignmentComplianceStates)
    .optional()
    .describe(
      "With assignmentId: compliant (reported the wanted version installed), non_compliant (reported it failed or not installed), pending (no report of it yet); the wanted version is the assignment's own or the package's latest",
    ),
});
export type DeviceListFilters = z.infer<typeof deviceListFilters>;

export const deviceSummary = device
  .extend({
    tags: z.array(z.string()),
    manufacturer: z.string().nullable(),
    model: z.string().nullable(),
    pendingReboot: z.boolean().nullable(),
  })
  .meta({ id: 'DeviceSummary' });
export const deviceSummaryList = z.object({ items: z.array(deviceSummary), total: z.number().int() }).meta({ id: 'DeviceSummaryList' });

// ---- device detail ---------------------------------------------------------------------------
export const customFieldValue = z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]);

export const deviceDetail = deviceSummary
  .extend({
    inventory: inventorySections.omit({ software: true, services: true }).partial(),
    inventoryUpdatedAt: z.string().nullable(),
    softwareCount: z.number().int(),
    serviceCount: z.number().int(),
    groups: z.array(z.object({ id: uuid, name: z.string(), kind: z.enum(groupKinds) })),
    customFields: z.record(z.string(), customFieldValue),
  })
  .meta({ id: 'DeviceDetail' });
export type DeviceDetail = z.infer<typeof deviceDetail>;

export const softwareListQuery = pagination.extend({
  search: searchText.optional().describe('Name or vendor containing this text, or an exact product code'),
});
export const deviceSoftwareItem = z
  .object({
    name: z.string(),
    version: z.string(),
    architecture: z.string().nullable(),
    vendor: z.string().nullable(),
    installDate: z.string().nullable(),
    source: z.string(),
    productCode: z.string().nullable(),
    upgradeCode: z.string().nullable(),
  })
  .meta({ id: 'DeviceSoftwareItem' });
export const deviceSoftwareList = z
  .object({ items: z.array(deviceSoftwareItem), total: z.number().int() })
  .meta({ id: 'DeviceSoftwareList' });
export const deviceServiceList = z
  .object({ items: z.array(z.object({ name: z.string(), displayName: z.string().nullable(), state: z.string(), startMode: z.string() })) })
  .meta({ id: 'DeviceServiceList' });

/** One change in a device's history (timeline). */
export const inventoryEvent = z
  .object({
    id: z.string(),
    occurredAt: z.string(),
    section: z.enum(inventorySectionNames),
    kind: z.enum(inventoryEventKinds),
    subject: z.string(),
    oldValue: z.string().nullable(),
    newValue: z.string().nullable(),
  })
  .meta({ id: 'InventoryEvent' });
export const timelineQuery = pagination.extend({ kind: z.enum(inventoryEventKinds).optional().describe('Only changes of this kind') });
export const deviceTimeline = z.object({ items: z.array(inventoryEvent), total: z.number().int() }).meta({ id: 'DeviceTimeline' });

/** What happened to a device, newest first: written from domain events by the device-activity consumer. */
const activity = <T extends string, D extends z.ZodRawShape>(type: T, details: D) =>
  z.object({ id: z.string(), type: z.literal(type), occurredAt: z.string(), details: z.object(details) });
export const deviceActivityItem = z.discriminatedUnion('type', [
  activity('enrolled', {}),
  activity('retired', { endedRuns: z.number().int() }),
  activity('came_online', { lastSeenAt: z.string().nullable() }),
  activity('went_offline', { lastSeenAt: z.string().nullable(), reason: z.enum(['agent_stopped', 'not_seen']) }),
  activity('joined_group', { groupId: uuid, groupName: z.string().nullable(), reason: z.string() }),
  activity('left_group', { groupId: uuid, groupName: z.string().nullable(), reason: z.string() }),
  activity('inventory_changed', { changedSections: z.array(z.string()), firstReport: z.boolean(), historyEvents: z.number().int() }),
  activity('command_finished', {
    commandId: uuid,
    jobRunId: uuid.nullable(),
    status: z.string(),
    exitCode: z.string().nullable(),
    durationMs: z.number().int().nullable(),
    error: z.string().nullable(),
  }),
]);
export type DeviceActivityItem = z.infer<typeof deviceActivityItem>;
export const deviceActivityTypes = deviceActivityItem.options.map((o) => o.shape.type.value);
export const deviceActivityList = z
  .object({ items: z.array(deviceActivityItem), total: z.number().int() })
  .meta({ id: 'DeviceActivityList' });

// ---- tags ------------------------------------------------------------------------------------
export { tagName };
export const bulkTagsRequest = z
  .object({
    deviceIds: z.array(uuid).min(1).max(10000),
    add: z.array(tagName).max(50).default([]),
    remove: z.array(tagName).max(50).default([]),
  })
  .meta({ id: 'BulkTagsRequest' });
export const tagList = z.object({ items: z.array(z.object({ tag: z.string(), deviceCount: z.number().int() })) }).meta({ id: 'TagList' });

// ---- custom fields ---------------------------------------------------------------------------
export const customFieldKey = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'lowercase letters, digits and _; starts with a letter');
export const customFieldDefinition = z
  .object({
    id: uuid,
    key: customFieldKey,
    label: z.string(),
    type: z.enum(customFieldTypes),
    enumValues: z.array(z.string()),
    createdAt: z.string(),
  })
  .meta({ id: 'CustomFieldDefinition' });
export const createCustomFieldRequest = z
  .object({
    key: customFieldKey,
    label: z.string().max(200).trim().min(1),
    type: z.enum(customFieldTypes),
    enumValues: z.array(z.string().max(200).trim().min(1)).max(200).default([]),
  })
  .meta({ id: 'CreateCustomFieldRequest' });
export const customFieldList = z.object({ items: z.array(customFieldDefinition) }).meta({ id: 'CustomFieldList' });
/** Values by field key; `null` clears a value. Validated against each field's type. */
export const setCustomFieldValuesRequest = z
  .object({ deviceIds: z.array(uuid).min(1).max(10000), values: z.record(customFieldKey, customFieldValue) })
  .meta({ id: 'SetCustomFieldValuesRequest' });

// ---- groups ----------------------------------------------------------------------------------
export const groupKind = z.enum(groupKinds).meta({ id: 'GroupKind' });
export const group = z.object({
  id: uuid,
  name: z.string(),
  description: z.string(),
  kind: groupKind,
  rule: rule.nullable(),
  builtIn: z.boolean(),
  memberCount: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Group = z.infer<typeof group>;
export const groupList = z.object({ items: z.array(group) });
export const createGroupRequest = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('static'),
    name: z.string().max(200).trim().min(1),
    description: z.string().max(2000).default(''),
    deviceIds: z.array(uuid).max(10000).default([]),
  }),
  z.object({ kind: z.literal('dynamic'), name: z.string().max(200).trim().min(1), description: z.string().max(2000).default(''), rule }),
]);
export const updateGroupRequest = z.object({
  name: z.string().max(200).trim().min(1).optional(),
  description: z.string().max(2000).optional(),
  rule: rule.optional(),
});
export const groupMembersRequest = z
  .object({ add: z.array(uuid).max(10000).default([]), remove: z.array(uuid).max(10000).default([]) })
  .meta({ id: 'GroupMembersRequest' });
/** Evaluate a rule without saving it: the matching count and the first matches. */
export const rulePreviewRequest = z.object({ rule, limit: z.number().int().min(0).max(200).default(50) });
export const rulePreview = z
  .object({
    count: z.number().int(),
    devices: z.array(z.object({ id: uuid, hostname: z.string(), osName: z.string() })),
    evaluatedIn: z.number(),
  })
  .meta({ id: 'RulePreview' });
/** A problem+json `rule_invalid` carries `errors: [{ path, message }]` with paths like `all.1.value`. */
export const membershipEvent = z
  .object({
    id: z.string(),
    groupId: uuid,
    deviceId: uuid,
    hostname: z.string(),
    change: z.enum(membershipChanges),
    reason: z.string(),
    occurredAt: z.string(),
  })
  .meta({ id: 'MembershipEvent' });
export const membershipEventList = z
  .object({ items: z.array(membershipEvent), total: z.number().int() })
  .meta({ id: 'MembershipEventList' });
