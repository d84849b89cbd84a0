/**
 * Deployments (ADR 24): staged rollouts of a package version to devices and groups — a pilot, waves, success criteria,
 * auto-pause, post-install health analysis, maintenance windows, rollback — and software assignments (the intent a
 * device or group keeps: required, available, uninstall). The API shapes of apps/api/src/routes/deployments.ts.
 */
import { z } from 'zod';
import { MAX_DEVICES_PER_RUN, jobRunTargetSelection, pagination, searchText, uuid } from './api.ts';
import { shells } from './constants.ts';
import { MAX_SHELL_COMMAND_LENGTH } from './commands.ts';
import { exitCode } from './agent-protocol.ts';
import { maintenanceWindowRecurrences } from './maintenance-windows.ts';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from './text.ts';

const text = (max: number) => z.string().max(max).refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);

export const deploymentStatuses = [
  /** Waiting for a second operator's approval (a deployment above the approval size). */
  'pending_approval',
  /** Nobody approved it: it never started. */
  'rejected',
  /** Approved (or needing none), waiting for its start time. */
  'scheduled',
  'running',
  /** Paused by an operator, or by itself (auto-pause, success criteria, health analysis): see pausedReason. */
  'paused',
  'completed',
  /** Its workflow failed (an unexpected error), or its deadline passed with waves left. */
  'failed',
  'aborted',
  'rolling_back',
  'rolled_back',
] as const;
export type DeploymentStatus = (typeof deploymentStatuses)[number];
export const finishedDeploymentStatuses = [
  'rejected',
  'completed',
  'failed',
  'aborted',
  'rolled_back',
] as const satisfies readonly DeploymentStatus[];

/** Where each device of a deployment stands. */
export const deploymentDeviceStatuses = [
  /** In a wave that has not started. */
  'planned',
  /** Its wave started; outside all of its maintenance windows (see windowOpensAt). */
  'waiting_for_window',
  /** Its command waits for the agent (or the dispatch pace). */
  'queued',
  'downloading',
  'installing',
  'succeeded',
  'already_installed',
  'failed',
  /** Installed; the device needs a restart the reboot policy has not done yet. */
  'reboot_pending',
  /** Its requirements are not met (OS, architecture, disk, memory): nothing was installed. */
  'skipped',
  'cancelled',
] as const;
export type DeploymentDeviceStatus = (typeof deploymentDeviceStatuses)[number];

export const deploymentActions = ['install', 'uninstall'] as const;
export const rebootPolicies = ['suppress', 'in_window', 'force'] as const;
export const healthFailureActions = ['pause', 'rollback'] as const;
export const assignmentIntents = ['required', 'available', 'uninstall'] as const;
export type AssignmentIntent = (typeof assignmentIntents)[number];

/** Most waves a deployment has (the pilot not counted). */
export const MAX_DEPLOYMENT_WAVES = 10;
const DAY = 24 * 3600;

export const waveSize = z
  .union([
    z.strictObject({ percent: z.number().min(0.01).max(100).describe('Cumulative share of the devices (pilot excluded) after this wave') }),
    z.strictObject({ count: z.number().int().min(1).max(MAX_DEVICES_PER_RUN).describe('Devices in this wave') }),
  ])
  .meta({ id: 'WaveSize' });

export const healthScript = z
  .strictObject({
    command: text(MAX_SHELL_COMMAND_LENGTH).min(1),
    shell: z.enum(shells).default('default'),
    timeoutSeconds: z.number().int().min(1).max(3600).default(60),
  })
  .meta({ id: 'HealthScript' });

export const deploymentHealth = z
  .strictObject({
    offlineAfterSeconds: z
      .number()
      .int()
      .min(30)
      .max(DAY)
      .default(300)
      .describe('An updated device not heard from for this long during the soak counts as unhealthy'),
    script: healthScript.optional().describe('Run on each updated device during the soak; a non-zero exit counts as unhealthy'),
    maxExcessPercent: z
      .number()
      .min(0)
      .max(100)
      .default(10)
      .describe('Pause (or roll back) when the updated devices are unhealthy this many points more often than devices not yet updated'),
    minDevices: z
      .number()
      .int()
      .min(1)
      .max(MAX_DEVICES_PER_RUN)
      .default(5)
      .describe('Devices the wave needs before the analysis judges it'),
    onFailure: z.enum(healthFailureActions).default('pause'),
  })
  .meta({ id: 'DeploymentHealth' });

export const networkPolicy = z
  .strictObject({
    maxBytesPerSecond: z
      .number()
      .int()
      .min(16 * 1024)
      .max(10 * 1024 ** 3)
      .optional()
      .describe("Cap on the agent's download rate"),
    skipMetered: z.boolean().default(false).describe('Devices on a metered connection download nothing (their install is deferred)'),
    sourceIds: z.array(uuid).max(16).optional().describe('Only these depot sources are offered to the agents'),
  })
  .meta({ id: 'NetworkPolicy' });

export const deploymentStrategy = z
  .strictObject({
    pilotGroupId: uuid.optional().describe("The pilot: this group's target devices go first and must meet the success criteria"),
    waves: z
      .array(waveSize)
      .min(1)
      .max(MAX_DEPLOYMENT_WAVES)
      .default([{ percent: 100 }]),
    soakSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * DAY)
      .default(0)
      .describe('Wait after each wave (the pilot included) before the next'),
    successPercent: z.number().min(0).max(100).default(95).describe('A wave succeeds when at least this share of its devices did'),
    autoPause: z
      .strictObject({
        failurePercent: z.number().min(0).max(100).default(10),
        minResults: z.number().int().min(1).max(MAX_DEVICES_PER_RUN).default(10),
      })
      .nullable()
      .default({ failurePercent: 10, minResults: 10 })
      .describe('Pause while a wave runs once more than failurePercent of at least minResults results failed (null: never)'),
    health: deploymentHealth.nullable().default(null).describe('Post-install health analysis during each soak'),
    respectMaintenanceWindows: z.boolean().default(true).describe("Devices install only inside one of their groups' maintenance windows"),
    rebootPolicy: z.enum(rebootPolicies).default('suppress'),
    rebootNotice: z
      .strictObject({ message: text(500), delaySeconds: z.number().int().min(0).max(3600).default(300) })
      .optional()
      .describe("rebootPolicy force: the users' warning and how long before the restart"),
    network: networkPolicy.default({ skipMetered: false }),
    retries: z
      .strictObject({ count: z.number().int().min(0).max(5).default(2), backoffSeconds: z.number().int().min(10).max(DAY).default(300) })
      .default({ count: 2, backoffSeconds: 300 })
      .describe('Devices whose install could not run (offline, download failed, timed out) are tried again'),
    maxConcurrency: z.number().int().min(1).max(MAX_DEVICES_PER_RUN).optional(),
    waveDeadlineSeconds: z
      .number()
      .int()
      .min(60)
      .max(30 * DAY)
      .default(DAY)
      .describe(
        "How long a wave's attempt waits for its devices (offline ones, those waiting for a window) before the rest count as not reached",
      ),
  })
  .meta({ id: 'DeploymentStrategy' });
export type DeploymentStrategy = z.infer<typeof deploymentStrategy>;

const futureOrNow = z.iso.datetime({ offset: true });

export const createDeploymentRequest = z
  .strictObject({
    name: text(200).refine((s: string) => s.trim().length > 0, 'must not be empty'),
    versionId: uuid,
    action: z.enum(deploymentActions).default('install'),
    targets: jobRunTargetSelection,
    startsAt: futureOrNow.optional().describe('When the first wave starts (default: now)'),
    deadlineAt: futureOrNow.optional().describe('No device starts installing after this; waves left then are not started'),
    strategy: deploymentStrategy.default(deploymentStrategy.parse({})),
    /** The device count the operator confirmed in the dry run: 409 when the targets now resolve differently. */
    expectedDeviceCount: z.number().int().min(0).max(MAX_DEVICES_PER_RUN).optional(),
  })
  .refine((r) => !r.deadlineAt || !r.startsAt || Date.parse(r.deadlineAt) > Date.parse(r.startsAt), {
    message: 'must be after startsAt',
    path: ['deadlineAt'],
  })
  .meta({ id: 'CreateDeploymentRequest' });
export type CreateDeploymentRequest = z.infer<typeof createDeploymentRequest>;

const deviceRef = z.object({ id: uuid, hostname: z.string() });

export const deploymentPlanWave = z
  .object({
    index: z.number().int(),
    label: z.string(),
    size: z.number().int(),
    sample: z.array(deviceRef).describe('The first devices of the wave by hostname'),
  })
  .meta({ id: 'DeploymentPlanWave' });

/** The dry run: what a deployment would do now, without starting it. */
export const deploymentPlan = z
  .object({
    total: z.number().int(),
    maxDevices: z.number().int(),
    waves: z.array(deploymentPlanWave),
    alreadyCompliant: z
      .object({ count: z.number().int(), sample: z.array(deviceRef) })
      .describe('Already in the wanted state (last report)'),
    failingRequirements: z
      .object({ count: z.number().int(), sample: z.array(deviceRef.extend({ reason: z.string() })) })
      .describe("The version's requirements (OS, architecture, memory, disk) not met by their inventory"),
    outsideWindows: z
      .object({
        count: z.number().int(),
        sample: z.array(deviceRef.extend({ windowOpensAt: z.string().nullable() })),
      })
      .describe('Outside all of their maintenance windows at the start time, and when the next one opens'),
    needsApproval: z.boolean().describe('Above the approval size: a second operator must approve before it starts'),
  })
  .meta({ id: 'DeploymentPlan' });
export type DeploymentPlan = z.infer<typeof deploymentPlan>;

export const deploymentDeviceStatusCounts = z
  .record(z.enum(deploymentDeviceStatuses), z.number().int())
  .meta({ id: 'DeploymentDeviceStatusCounts' });

export const deploymentWave = z
  .object({
    index: z.number().int(),
    label: z.string(),
    size: z.number().int(),
    state: z.enum(['planned', 'installing', 'soaking', 'completed', 'cancelled']),
    startedAt: z.string().nullable(),
    soakUntil: z.string().nullable(),
    finishedAt: z.string().nullable(),
    counts: deploymentDeviceStatusCounts,
    health: z
      .object({
        watched: z.number().int(),
        unhealthy: z.number().int(),
        baselineWatched: z.number().int(),
        baselineUnhealthy: z.number().int(),
      })
      .nullable(),
  })
  .meta({ id: 'DeploymentWave' });

export const deploymentSummary = z
  .object({
    id: uuid,
    name: z.string(),
    package: z.object({ id: uuid, name: z.string() }),
    version: z.object({ id: uuid, version: z.string() }),
    action: z.enum(deploymentActions),
    status: z.enum(deploymentStatuses),
    pausedReason: z.string().nullable(),
    currentWave: z.number().int().nullable(),
    total: z.number().int(),
    counts: deploymentDeviceStatusCounts,
    /** Succeeded (or already installed) among the devices with a result, in percent; null before any result. */
    successRate: z.number().nullable(),
    startsAt: z.string(),
    deadlineAt: z.string().nullable(),
    createdBy: z.string().nullable(),
    approvedBy: z.string().nullable(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'DeploymentSummary' });
export type DeploymentSummary = z.infer<typeof deploymentSummary>;

export const deploymentFailureReason = z
  .object({
    reason: z.string().describe('The software outcome, or the exit code'),
    exitCode: z.number().nullable(),
    count: z.number().int(),
  })
  .meta({ id: 'DeploymentFailureReason' });

export const deployment = deploymentSummary
  .extend({
    workflowId: z.string(),
    temporalUrl: z.string().nullable(),
    strategy: deploymentStrategy,
    targetSelection: jobRunTargetSelection,
    waves: z.array(deploymentWave),
    failedByReason: z.array(deploymentFailureReason).describe('The most frequent failures (outcome and exit code)'),
    rollback: z
      .object({ uninstalled: z.number().int(), reinstalled: z.number().int(), failed: z.number().int(), pending: z.number().int() })
      .nullable(),
  })
  .meta({ id: 'Deployment' });
export type Deployment = z.infer<typeof deployment>;

export const deploymentList = z.object({ items: z.array(deploymentSummary), total: z.number().int() }).meta({ id: 'DeploymentList' });
export const deploymentListQuery = pagination.extend({
  status: z.enum(deploymentStatuses).optional().describe('Only deployments in this status'),
  active: z.enum(['true', 'false']).optional().describe('true: only those not finished'),
  packageId: uuid.optional().describe('Only deployments of this package'),
  deviceId: uuid.optional().describe('Only deployments that target this device'),
  groupId: uuid.optional().describe('Only deployments that name this group in their targets or as their pilot group'),
  search: searchText.optional().describe('Part of the name (literal, any case)'),
});

export const deploymentDevice = z
  .object({
    deviceId: uuid,
    hostname: z.string(),
    wave: z.number().int(),
    status: z.enum(deploymentDeviceStatuses),
    attempts: z.number().int(),
    jobRunId: uuid.nullable(),
    exitCode: exitCode.nullable(),
    outcome: z.string().nullable().describe('The software outcome the agent reported'),
    detail: z.string().nullable(),
    windowOpensAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    healthFailure: z.string().nullable(),
    rollback: z.enum(['pending', 'uninstalled', 'reinstalled', 'failed']).nullable(),
  })
  .meta({ id: 'DeploymentDevice' });
export type DeploymentDevice = z.infer<typeof deploymentDevice>;
export const deploymentDeviceList = z
  .object({ items: z.array(deploymentDevice), total: z.number().int() })
  .meta({ id: 'DeploymentDeviceList' });
export const deploymentDeviceQuery = pagination.extend({
  status: z.enum(deploymentDeviceStatuses).optional().describe('Only devices in this status'),
  wave: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_DEPLOYMENT_WAVES)
    .optional()
    .describe('Only devices of this wave (0: the pilot, when there is one)'),
  search: searchText.optional().describe('Part of the hostname'),
});

export const deploymentEvent = z
  .object({
    id: z.string(),
    type: z.string(),
    message: z.string(),
    actor: z.string().nullable(),
    details: z.unknown().nullable(),
    occurredAt: z.string(),
  })
  .meta({ id: 'DeploymentEvent' });
export const deploymentEventList = z.object({ items: z.array(deploymentEvent) }).meta({ id: 'DeploymentEventList' });

/** Cumulative results over time (the dashboard's chart): one point per bucket. */
export const deploymentTimeline = z
  .object({
    bucketSeconds: z.number().int(),
    points: z.array(z.object({ at: z.string(), succeeded: z.number().int(), failed: z.number().int() })),
  })
  .meta({ id: 'DeploymentTimeline' });

export const deploymentControl = z
  .strictObject({ reason: text(500).optional().describe('Shown on the timeline') })
  .meta({ id: 'DeploymentControl' });
export const deploymentApproval = z
  .strictObject({ decision: z.enum(['approved', 'rejected']), comment: text(500).optional() })
  .meta({ id: 'DeploymentApproval' });

// --- assignments ---

export const softwareAssignment = z
  .object({
    id: uuid,
    package: z.object({ id: uuid, name: z.string() }),
    version: z.object({ id: uuid, version: z.string() }).nullable().describe('null: the latest version'),
    target: z.discriminatedUnion('type', [
      z.object({ type: z.literal('device'), id: uuid, name: z.string() }),
      z.object({ type: z.literal('group'), id: uuid, name: z.string() }),
    ]),
    intent: z.enum(assignmentIntents),
    uninstallOnLeave: z.boolean(),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    enforcedAt: z.string().nullable(),
    compliance: z
      .object({ devices: z.number().int(), compliant: z.number().int(), failed: z.number().int(), unknown: z.number().int() })
      .describe('Devices the assignment covers, by their last report'),
  })
  .meta({ id: 'SoftwareAssignment' });
export type SoftwareAssignment = z.infer<typeof softwareAssignment>;
export const softwareAssignmentList = z.object({ items: z.array(softwareAssignment) }).meta({ id: 'SoftwareAssignmentList' });
export const softwareAssignmentQuery = z.object({
  packageId: uuid.optional().describe('Only assignments of this package'),
  deviceId: uuid.optional().describe("The device's own assignments and its groups'"),
  groupId: uuid.optional().describe("Only this group's assignments"),
  intent: z.enum(assignmentIntents).optional().describe('Only assignments with this intent'),
});

export const createAssignmentRequest = z
  .strictObject({
    packageId: uuid,
    versionId: uuid.nullable().default(null).describe('null: always the latest version'),
    deviceIds: z.array(uuid).max(1000).default([]),
    groupIds: z.array(uuid).max(100).default([]),
    intent: z.enum(assignmentIntents),
    uninstallOnLeave: z.boolean().default(false).describe('Group assignments: a device that leaves the group gets the package uninstalled'),
  })
  .refine((r) => r.deviceIds.length + r.groupIds.length > 0, { message: 'Choose devices or groups', path: ['deviceIds'] })
  .meta({ id: 'CreateAssignmentRequest' });
export type CreateAssignmentRequest = z.infer<typeof createAssignmentRequest>;
export const createdAssignments = z
  .object({ items: z.array(softwareAssignment), superseded: z.number().int().describe('Assignments of older versions replaced') })
  .meta({ id: 'CreatedAssignments' });
export const deleteAssignmentQuery = z.object({
  uninstall: z.enum(['true', 'false']).default('false').describe('Uninstall the package from the devices the assignment covered'),
});
export const installAvailableRequest = z.strictObject({ deviceId: uuid }).meta({ id: 'InstallAvailableRequest' });

// --- maintenance windows ---

export const maintenanceWindow = z
  .object({
    id: uuid,
    groupId: uuid,
    name: z.string(),
    timeZone: z.string(),
    recurrence: z.enum(maintenanceWindowRecurrences),
    daysOfWeek: z.array(z.number().int()),
    startTime: z.string(),
    durationMinutes: z.number().int(),
    createdAt: z.string(),
    openNow: z.boolean(),
    /** When it next opens (now, if open). */
    nextOpensAt: z.string(),
    nextClosesAt: z.string(),
  })
  .meta({ id: 'MaintenanceWindow' });
export type MaintenanceWindow = z.infer<typeof maintenanceWindow>;
export const maintenanceWindowList = z.object({ items: z.array(maintenanceWindow) }).meta({ id: 'MaintenanceWindowList' });
