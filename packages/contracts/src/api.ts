/**
 * DTOs of the admin API (`/api/v1`). The API validates requests with these schemas and the console's
 * typed client (apps/web/app/lib/api.server.ts) uses the same types, so both sides change together.
 */
import { z } from 'zod';
import { BMP_LETTERS_AND_DIGITS } from './letters.ts';
import {
  MAX_VERSION_ARTIFACTS,
  detection,
  exitCodes,
  installCommandLine,
  installHook,
  msiGuid,
  packageManagerName,
  softwareRequirements,
  softwareVersion,
  versionConstraints,
  softwareCommandReport,
} from './software.ts';
import { exitCode } from './agent-protocol.ts';
import { MAX_SCRIPT_LENGTH, MAX_SHELL_COMMAND_LENGTH, commandKinds, devicePath, fileMode, fileOwner, sha256Hex } from './commands.ts';
import {
  auditActorTypes,
  deviceLifecycles,
  deviceRunStatuses,
  depotSourceKinds,
  deviceStatuses,
  finalJobRunStatuses,
  installerTypes,
  jobRunStatuses,
  osFamilies,
  outputStreams,
  outputViewEncodings,
  packagePlatforms,
  rebootBehaviours,
  roles,
  scriptInterpreters,
  shells,
  softwareOutcomes,
} from './constants.ts';

export { deviceLifecycles, finalJobRunStatuses, roles };
export type { DeviceLifecycle } from './constants.ts';

export const role = z.enum(roles).meta({ id: 'Role' });
export type Role = z.infer<typeof role>;

export const uuid = z.string().uuid();
/** PostgreSQL text cannot hold NUL: refuse it at the edge instead of failing in the database. */
const noNul = (s: string) => !s.includes('\u0000');
/** `address/bits` with an IPv4 or IPv6 address and a prefix length that fits it. */
function isCidr(cidr: string): boolean {
  const [address = '', bits = ''] = cidr.split('/');
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (v4) return v4.slice(1).every((o) => Number(o) <= 255) && Number(bits) <= 32;
  return address.includes(':') && /^[0-9A-Fa-f:.]{2,45}$/.test(address) && URL.canParse(`http://[${address}]/`) && Number(bits) <= 128;
}
const noNulMessage = 'must not contain NUL characters';
/** Free text to search for (matched literally: `%` and `_` are no wildcards). */
export const searchText = z.string().max(200).trim().refine(noNul, noNulMessage);
export const pagination = z.object({
  page: z.coerce.number().int().min(1).max(100000).default(1).describe('Page number, from 1'),
  pageSize: z.coerce.number().int().min(1).max(200).default(50).describe('Items per page'),
});

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const isoDateTime = z.iso.datetime({ offset: true });
const EARLIEST = new Date('1900-01-01T00:00:00.000Z');
const LATEST = new Date('9999-12-31T23:59:59.999Z');
/**
 * One end of a time range in a query: a date (`2026-12-01`, a whole UTC day: `to` includes it) or an
 * ISO 8601 date-time with `Z` or an offset. Parsed strictly: impossible dates such as 2026-02-30 fail.
 * `from` is inclusive, `to` exclusive (a date as `to` means the start of the next day).
 */
const timeBound = (edge: 'from' | 'to') =>
  z
    .string()
    .max(40)
    .describe(
      edge === 'from'
        ? 'At or after: a date (YYYY-MM-DD, UTC) or an ISO 8601 date-time with an offset'
        : 'Before: a date (YYYY-MM-DD, UTC; the whole day is included) or an ISO 8601 date-time with an offset',
    )
    .transform((value, ctx) => {
      let at: Date | null = null;
      if (ISO_DATE.test(value)) {
        const day = new Date(`${value}T00:00:00.000Z`);
        // Date rolls 2026-02-30 over to March; a real date survives the round trip.
        if (!Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === value) {
          at = edge === 'to' ? new Date(day.getTime() + 24 * 3600 * 1000) : day;
        }
      } else if (isoDateTime.safeParse(value).success) {
        const t = new Date(value);
        if (!Number.isNaN(t.getTime())) at = t;
      }
      if (!at) {
        ctx.addIssue({
          code: 'custom',
          message: 'must be a date (YYYY-MM-DD) or an ISO 8601 date-time with an offset (2026-12-01T09:30:00Z)',
        });
        return z.NEVER;
      }
      // PostgreSQL has no year 0, and years past 9999 do not survive the trip as ISO strings.
      if (at < EARLIEST || at > LATEST) {
        ctx.addIssue({ code: 'custom', message: 'must be between 1900-01-01 and 9999-12-31' });
        return z.NEVER;
      }
      return at;
    });
const timeRange = { from: timeBound('from').optional(), to: timeBound('to').optional() };
const fromBeforeTo = (q: { from?: Date; to?: Date }) => !q.from || !q.to || q.from < q.to;
const toAfterFrom = { message: 'must be later than from', path: ['to'] };

// ---- auth & users ---------------------------------------------------------------------------
export const loginRequest = z
  .object({
    email: z.string().trim().toLowerCase().email().max(320),
    password: z.string().min(1).max(1024),
  })
  .meta({ id: 'LoginRequest' });
export const user = z
  .object({
    id: uuid,
    email: z.string(),
    name: z.string(),
    role,
    disabled: z.boolean(),
    createdAt: z.string(),
  })
  .meta({ id: 'User' });
export type User = z.infer<typeof user>;
export const loginResponse = z.object({ token: z.string(), expiresAt: z.string(), user }).meta({ id: 'LoginResponse' });
export type LoginResponse = z.infer<typeof loginResponse>;

/**
 * A new password. The API checks it against the password policy (@opsconductor/passwords: 12–256
 * characters after NFKC, not blank, repeated, a sequence, the email's name part, or a common or
 * breached password) and answers 400 `weak_password` with the reasons as field errors.
 */
export const newPassword = z.string().min(1).max(1024).describe('12–256 characters; not common, breached, repeated or a sequence');
export const createUserRequest = z
  .object({
    email: z.string().trim().toLowerCase().email().max(320),
    name: z.string().max(200).trim().min(1),
    password: newPassword,
    role,
  })
  .meta({ id: 'CreateUserRequest' });
/** At least one field: an empty change is refused (400), not silently accepted. */
export const updateUserRequest = z
  .object({
    name: z.string().max(200).trim().min(1).optional(),
    role: role.optional(),
    disabled: z.boolean().optional(),
    /** Another user's new password (admins). Your own goes through POST /auth/password. */
    password: newPassword.optional(),
  })
  .refine((o) => Object.values(o).some((v) => v !== undefined), { message: 'Give at least one of name, role, disabled, password' })
  .meta({ id: 'UpdateUserRequest' });
/** POST /auth/password — every signed-in user changes their own password. */
export const changePasswordRequest = z
  .object({
    currentPassword: z.string().min(1).max(1024),
    newPassword,
  })
  .meta({ id: 'ChangePasswordRequest' });
export const userList = z.object({ items: z.array(user) }).meta({ id: 'UserList' });

// ---- enrollment tokens ----------------------------------------------------------------------
export const createEnrollmentTokenRequest = z
  .object({
    name: z.string().max(200).trim().min(1),
    maxUses: z.number().int().min(1).max(100000).default(1),
    expiresInHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 365)
      .default(24),
  })
  .meta({ id: 'CreateEnrollmentTokenRequest' });
export const enrollmentToken = z
  .object({
    id: uuid,
    name: z.string(),
    tokenPrefix: z.string(),
    maxUses: z.number().int(),
    usedCount: z.number().int(),
    expiresAt: z.string(),
    revokedAt: z.string().nullable(),
    createdAt: z.string(),
    createdBy: z.string().nullable(),
  })
  .meta({ id: 'EnrollmentToken' });
export type EnrollmentToken = z.infer<typeof enrollmentToken>;
/** The secret token is returned once, at creation. */
export const createdEnrollmentToken = enrollmentToken.extend({ token: z.string() }).meta({ id: 'CreatedEnrollmentToken' });
export type CreatedEnrollmentToken = z.infer<typeof createdEnrollmentToken>;
export const enrollmentTokenList = z.object({ items: z.array(enrollmentToken) }).meta({ id: 'EnrollmentTokenList' });

// ---- devices ---------------------------------------------------------------------------------
export const deviceStatus = z.enum(deviceStatuses).meta({ id: 'DeviceStatus' });
export const device = z
  .object({
    id: uuid,
    hostname: z.string(),
    osFamily: z.string(),
    osName: z.string(),
    osVersion: z.string(),
    architecture: z.string(),
    ipAddresses: z.array(z.string()),
    agentVersion: z.string(),
    /** How commands reach it: its agent, or (an agentless target) the API's relay over SSH or WinRM. */
    transport: z.enum(['agent', 'ssh', 'winrm']),
    status: deviceStatus,
    lastSeenAt: z.string().nullable(),
    enrolledAt: z.string(),
    /** Set when the device was retired: no longer managed, its history kept. */
    retiredAt: z.string().nullable(),
  })
  .meta({ id: 'Device' });
export type Device = z.infer<typeof device>;
/** POST /devices/{id}/rotate-secret — the new secret, shown once. Install it with `opsconductor-agent rekey`. */
export const rotatedDeviceSecret = z.object({ deviceId: uuid, deviceSecret: z.string() }).meta({ id: 'RotatedDeviceSecret' });
export const deleteDeviceQuery = z.object({
  confirm: z.string().max(255).describe("The device's hostname, repeated: a stray DELETE cannot purge a device"),
});

/**
 * A letter or digit of any script (in the Basic Multilingual Plane) first, then also space . _ : / -.
 * Spelled out without the `u` flag: the OpenAPI document carries this pattern, and a `pattern` there
 * is an ECMA-262 regex without flags (with `/u` it ended in "/u" and matched nothing). Kept to the
 * interoperable subset (no lookaround) so other dialects (Python, Go) read it the same.
 */
const TAG_PATTERN = new RegExp(`^[${BMP_LETTERS_AND_DIGITS}][${BMP_LETTERS_AND_DIGITS} ._:/-]*$`);
export const tagName = z.string().max(100).trim().min(1).regex(TAG_PATTERN, 'letters, digits, space and . _ : / -');
/**
 * Which devices: the device list's filters, and a job run's `filter` target (the same devices the list
 * shows for the same filter). Every condition given must hold; none given means every device. Strict: a
 * misspelt condition would otherwise be dropped and the filter would select more devices than meant.
 */
export const deviceFilter = z
  .strictObject({
    search: searchText.optional().describe('Hostname, OS name or model containing this text (case-insensitive), or an exact IP address'),
    status: deviceStatus.optional().describe('Devices with this status'),
    osFamily: z.enum(osFamilies).optional().describe('Operating system family'),
    osName: z.string().max(200).refine(noNul, noNulMessage).optional().describe('OS name, exactly (e.g. `Debian`)'),
    osVersion: z.string().max(200).refine(noNul, noNulMessage).optional().describe('OS version, exactly (e.g. `12`)'),
    agentVersion: z.string().max(100).refine(noNul, noNulMessage).optional().describe('Agent version, exactly'),
    groupId: uuid.optional().describe('Members of this group'),
    tag: z.string().max(100).trim().min(1).refine(noNul, noNulMessage).optional().describe('Devices carrying this tag'),
    customField: z
      .string()
      .max(300)
      .regex(/^[a-z][a-z0-9_]{0,62}:.*$/)
      .refine(noNul, noNulMessage)
      .optional()
      .describe('`key:value`: devices whose custom field `key` equals `value`'),
  })
  .meta({ id: 'DeviceFilter' });
export type DeviceFilter = z.infer<typeof deviceFilter>;

// ---- job runs --------------------------------------------------------------------------------
/**
 * What happened to a run, once it finished (decided from its devices' outcomes, in this order):
 * - `cancelled`: someone cancelled it.
 * - `succeeded`: the command succeeded on every device.
 * - `partially_succeeded`: it succeeded on some devices and not on others (see the counts).
 * - `failed`: it succeeded nowhere, and failed (non-zero exit, could not start or be dispatched) on at least one device.
 * - `timed_out`: it succeeded and failed nowhere; at least one device ran past its timeout or deadline.
 * - `unreachable`: no device picked the command up before the deadline (every device offline).
 * Before that, `queued` then `running`. The per-status device counts always come with it.
 */
export const jobRunStatus = z
  .enum(jobRunStatuses)
  .describe(
    'queued → running → one of: succeeded (on every device), partially_succeeded (on some), failed (nowhere, and it failed on at least one), ' +
      'timed_out (nowhere; it failed nowhere and ran past its timeout or the deadline somewhere), unreachable (no device picked it up before the deadline), cancelled. ' +
      'A run of a job that needs approval starts awaiting_approval, and goes on to queued when approved, or ends rejected or expired. ' +
      '`counts` has the devices per outcome.',
  )
  .meta({ id: 'JobRunStatus' });
export type JobRunStatus = z.infer<typeof jobRunStatus>;
export const deviceRunStatus = z.enum(deviceRunStatuses).meta({ id: 'DeviceRunStatus' });
export type DeviceRunStatus = z.infer<typeof deviceRunStatus>;

/**
 * Most devices one run may target: the `jobRun` workflow fans out in 20 batches of 500 at most in
 * flight and its input (every device ID) stays far below Temporal's 2 MB payload limit (ADR 4).
 */
export const MAX_DEVICES_PER_RUN = 10_000;

/**
 * What a run targets: the union of explicit devices, the members of groups, the devices carrying any
 * of the tags, and the devices matching a filter. Resolved to devices when the run is created.
 */
export const jobRunTargetSelection = z
  .object({
    deviceIds: z.array(uuid).max(MAX_DEVICES_PER_RUN).optional(),
    groupIds: z.array(uuid).max(100).optional(),
    tags: z.array(tagName).max(100).optional(),
    /** `{}` means every device. */
    filter: deviceFilter.optional(),
  })
  .meta({ id: 'JobRunTargetSelection' });
export type JobRunTargetSelection = z.infer<typeof jobRunTargetSelection>;
const selectsTargets = (t: JobRunTargetSelection) => Boolean(t.deviceIds?.length || t.groupIds?.length || t.tags?.length || t.filter);
const noTargets = { message: 'Choose the target devices: deviceIds, groupIds, tags or filter', path: ['deviceIds'] };

export const jobRunTargetPreviewRequest = jobRunTargetSelection
  .extend({ sampleSize: z.number().int().min(0).max(50).default(10) })
  .refine(selectsTargets, noTargets)
  .meta({ id: 'JobRunTargetPreviewRequest' });
export const jobRunTargetPreview = z
  .object({
    /** Devices the selection resolves to now. */
    total: z.number().int(),
    maxDevices: z.number().int(),
    /** The first devices by hostname. */
    sample: z.array(z.object({ id: uuid, hostname: z.string(), status: deviceStatus })),
  })
  .meta({ id: 'JobRunTargetPreview' });
export type JobRunTargetPreview = z.infer<typeof jobRunTargetPreview>;

/**
 * What a run does on each device: one command of a kind the agents know (packages/contracts/src/commands.ts).
 * `file.fetch` names a file uploaded with POST /api/v1/files by its SHA-256.
 */
export const jobRunAction = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('shell'),
    command: z.string().min(1).max(MAX_SHELL_COMMAND_LENGTH).refine(noNul, noNulMessage),
    shell: z.enum(shells).default('default'),
  }),
  z.object({
    kind: z.literal('script'),
    interpreter: z.enum(scriptInterpreters),
    script: z.string().min(1).max(MAX_SCRIPT_LENGTH).refine(noNul, noNulMessage),
  }),
  z.object({ kind: z.literal('file.fetch'), sha256: sha256Hex, path: devicePath, mode: fileMode.optional(), owner: fileOwner.optional() }),
  z.object({ kind: z.literal('reboot') }),
  z.object({ kind: z.literal('inventory.refresh') }),
  /** Installs a package version from the depot (its commands, detection, requirements and timeout: the run's own `timeoutSeconds` is not used). */
  z.object({ kind: z.literal('software.install'), versionId: z.string().uuid() }),
  /** Uninstalls a package version (it must have an uninstall command). */
  z.object({ kind: z.literal('software.uninstall'), versionId: z.string().uuid() }),
]);
export type JobRunAction = z.infer<typeof jobRunAction>;
/** A command kind (a one-command run), or `job`: a saved job's steps (ADR 20). */
export const jobRunKind = z.enum(['job', ...commandKinds] as [string, ...string[]]);

export const createJobRunRequest = jobRunTargetSelection
  .extend({
    /**
     * The device count the operator confirmed (from a preview): when the selection now resolves to a
     * different number of devices, the run is not created (409 `target_count_changed`).
     */
    expectedDeviceCount: z.number().int().min(0).max(MAX_DEVICES_PER_RUN).optional(),
    /** A shell command line: the short form of `action: { kind: 'shell', command, shell }`. */
    command: z.string().min(1).max(MAX_SHELL_COMMAND_LENGTH).refine(noNul, noNulMessage).optional(),
    shell: z.enum(shells).default('default'),
    /** What to run, when it is not a shell `command`; exactly one of the two is given. */
    action: jobRunAction.optional(),
    /** How long the command may run on a device before the agent kills it (a reboot: how long the device may take to come back). */
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(24 * 3600)
      .default(300),
    /** How long to wait for offline devices to come back and pick the command up. */
    deadlineSeconds: z
      .number()
      .int()
      .min(10)
      .max(7 * 24 * 3600)
      .default(3600),
  })
  .refine(selectsTargets, noTargets)
  .refine((r) => (r.command === undefined) !== (r.action === undefined), { message: 'Give either command or action', path: ['command'] })
  .meta({ id: 'CreateJobRunRequest' });
export type CreateJobRunRequest = z.infer<typeof createJobRunRequest>;

/** Longest `Idempotency-Key` the API keeps. */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;
/** How long the API remembers an `Idempotency-Key` (hours). */
export const IDEMPOTENCY_KEY_TTL_HOURS = 24;
const SF_STRING = /^"((?:[\x20\x21\x23-\x5B\x5D-\x7E]|\\["\\])*)"$/;
const BARE_KEY = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
/**
 * The `Idempotency-Key` request header (IETF draft-ietf-httpapi-idempotency-key-header): a Structured Fields string
 * (`"8e03978e-40d5-43e8-bc93-6894a57f9324"`), or the same characters unquoted as most clients send them. Printable
 * ASCII, 1 to IDEMPOTENCY_KEY_MAX_LENGTH characters; the value is the key without quotes and escapes.
 */
export const idempotencyKey = z.string().transform((raw, ctx) => {
  const value = raw.trim();
  const quoted = SF_STRING.exec(value);
  const key = quoted ? quoted[1]!.replace(/\\(["\\])/g, '$1') : BARE_KEY.test(value) ? value : undefined;
  if (key === undefined || key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX_LENGTH) {
    ctx.addIssue({
      code: 'custom',
      message: `must be 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters, quoted ("…") or bare without spaces, quotes or backslashes`,
    });
    return z.NEVER;
  }
  return key;
});

export const jobRunTarget = z
  .object({
    deviceId: uuid,
    hostname: z.string(),
    status: deviceRunStatus,
    /** As the platform reported it: Windows codes are unsigned 32-bit (3221225477 = 0xC0000005). */
    exitCode: exitCode.nullable(),
    errorMessage: z.string().nullable(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    durationMs: z.number().int().nullable(),
    stdoutTruncated: z.boolean(),
    stderrTruncated: z.boolean(),
    /** A job's run: the step the device is on (0-based), null before its first step (and in one-command runs). */
    currentStep: z.number().int().nullable(),
    /** software.install / software.uninstall: how it ended on the device, precisely (its last attempt's report). */
    software: softwareCommandReport.nullable(),
  })
  .meta({ id: 'JobRunTarget' });
export type JobRunTarget = z.infer<typeof jobRunTarget>;
export const jobRunSummary = z
  .object({
    id: uuid,
    workflowId: z.string(),
    temporalUrl: z.string().nullable(),
    /** The command kind the run sends (`shell` for every run created before kinds existed). */
    kind: jobRunKind,
    /** The shell command line, the script, or what the command does (e.g. `reboot`). */
    command: z.string(),
    shell: z.string(),
    timeoutSeconds: z.number().int(),
    deadlineAt: z.string(),
    status: jobRunStatus,
    cancelRequested: z.boolean(),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    counts: z.record(z.string(), z.number().int()),
    /** A saved job's run (kind `job`): the job and the version it runs; null for a one-command run. */
    job: z.object({ id: uuid, name: z.string(), version: z.number().int() }).nullable(),
    /** The run's parameter values (a job's run); secret ones are listed in `secretParameters`, never with their values. */
    parameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).nullable(),
    secretParameters: z.array(z.string()),
    maxConcurrency: z.number().int().nullable(),
    failureThreshold: z.object({ count: z.number().int().nullable(), percent: z.number().int().nullable() }).nullable(),
    /** When the failure threshold stopped new devices from starting. */
    thresholdReachedAt: z.string().nullable(),
    /** The run whose failed devices this one runs again. */
    rerunOfId: uuid.nullable(),
    /** The run whose chain started this one. */
    chainedFromId: uuid.nullable(),
    /** The schedule that started this run. */
    scheduleId: uuid.nullable(),
    /** What became of the job's chain when the run ended. */
    chainNote: z.string().nullable(),
    /** A job that needs approval (four-eyes): until when it may be decided, and the decision once made. */
    approval: z
      .object({
        expiresAt: z.string(),
        decision: z.enum(['approved', 'rejected']).nullable(),
        decidedBy: z.string().nullable(),
        decidedAt: z.string().nullable(),
        comment: z.string().nullable(),
      })
      .nullable(),
  })
  .meta({ id: 'JobRunSummary' });
export type JobRunSummary = z.infer<typeof jobRunSummary>;
/**
 * Most targets GET /job-runs/{id} lists (the first by hostname): a run on 10,000 devices would otherwise answer
 * megabytes on every read. Every target, filtered and paged: GET /job-runs/{id}/targets.
 */
export const MAX_EMBEDDED_TARGETS = 1000;
export const jobRunTargetsMode = z
  .enum(['first', 'none'])
  .default('first')
  .describe(
    `\`first\` (default): \`targets\` lists the first ${MAX_EMBEDDED_TARGETS.toLocaleString('en-US')} targets by hostname (every one of a smaller run); \`none\`: \`targets\` is empty. Either way \`targetsTotal\` counts them and \`targetsTruncated\` says whether \`targets\` leaves any out.`,
  );
export type JobRunTargetsMode = z.output<typeof jobRunTargetsMode>;
export const jobRunQuery = z.object({ targets: jobRunTargetsMode });
export const jobRun = jobRunSummary
  .extend({
    /** The first targets by hostname, at most MAX_EMBEDDED_TARGETS (see `targetsTruncated`). */
    targets: z.array(jobRunTarget),
    /** How many devices the run targets. */
    targetsTotal: z.number().int(),
    /** `targets` leaves some out: read them all with GET /job-runs/{id}/targets. */
    targetsTruncated: z.boolean(),
    /** What the run was asked to target (null for runs created before this was recorded); `targets` is what it became. */
    targetSelection: jobRunTargetSelection.nullable(),
  })
  .meta({ id: 'JobRun' });
export type JobRun = z.infer<typeof jobRun>;

/** Most targets one page of GET /job-runs/{id}/targets holds. */
export const MAX_TARGETS_PAGE = 500;
/** Longest page cursor: a hostname (255 characters, up to 4 UTF-8 bytes each) and a device ID, in base64url. */
const MAX_TARGETS_CURSOR_LENGTH = 1500;
/** A page cursor of GET /job-runs/{id}/targets: opaque base64url (`next` of the previous page). */
export const targetsCursor = z
  .string()
  .max(MAX_TARGETS_CURSOR_LENGTH)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be the `next` of an earlier page');
export const jobRunTargetsQuery = z.object({
  status: deviceRunStatus.optional().describe('Targets with this status only'),
  search: searchText.optional().describe('Targets whose hostname contains this text (literally, case-insensitive)'),
  deviceId: uuid.optional().describe('This device only'),
  after: targetsCursor.optional().describe('Continue after this cursor (`next` of the previous page, read with the same filters)'),
  limit: z.coerce.number().int().min(1).max(MAX_TARGETS_PAGE).default(100).describe('Most targets to return'),
});
export type JobRunTargetsQuery = z.output<typeof jobRunTargetsQuery>;
export const jobRunTargetPage = z
  .object({
    /** By hostname, then device ID. */
    items: z.array(jobRunTarget),
    /** The cursor of the next page (`after`), null on the last one. */
    next: z.string().nullable(),
    /** Targets matching the filters (all pages). */
    total: z.number().int(),
    /** The run's targets per status, unfiltered (statuses with none are left out). */
    counts: z.record(z.string(), z.number().int()),
  })
  .meta({ id: 'JobRunTargetPage' });
export type JobRunTargetPage = z.infer<typeof jobRunTargetPage>;
export const jobRunList = z.object({ items: z.array(jobRunSummary), total: z.number().int() }).meta({ id: 'JobRunList' });

/** Filters of the runs list and its CSV export; every one given must hold. */
export const jobRunListFilters = z.object({
  createdBy: z
    .string()
    .trim()
    .min(1)
    .max(320)
    .refine(noNul, noNulMessage)
    .optional()
    .describe('The user who created the run: a user ID or an email address'),
  status: jobRunStatus.optional(),
  jobId: uuid.optional().describe('Runs of this saved job (any version)'),
  deviceId: uuid.optional().describe('Runs that targeted this device'),
  hostname: z
    .string()
    .trim()
    .min(1)
    .max(253)
    .refine(noNul, noNulMessage)
    .optional()
    .describe('Runs that targeted a device with this hostname (whole name, case-insensitive)'),
  /** Created at or after. */
  from: timeRange.from,
  /** Created before. */
  to: timeRange.to,
});
export type JobRunListFilters = z.output<typeof jobRunListFilters>;
export const jobRunListQuery = pagination.extend(jobRunListFilters.shape).refine(fromBeforeTo, toAfterFrom);
export const jobRunExportQuery = jobRunListFilters.refine(fromBeforeTo, toAfterFrom);
/** Largest output chunk ID (the cursor is a PostgreSQL bigint). */
export const MAX_OUTPUT_CURSOR = 9223372036854775807n;
const DIGITS = /^\d{1,19}$/;
/** A chunk ID to continue after: decimal digits, at most the largest bigint (beyond it: 400, not a database error). */
export const outputCursor = z
  .string()
  .regex(DIGITS)
  .refine((s) => !DIGITS.test(s) || BigInt(s) <= MAX_OUTPUT_CURSOR, 'larger than the largest chunk ID (2^63 - 1)');

/**
 * How output is returned. `text` (default): each chunk's bytes decoded as UTF-8, bytes that are not valid
 * UTF-8 shown as U+FFFD, NUL and other control characters kept (JSON escapes them). `base64`: the stored
 * bytes exactly, in standard base64 — what the process wrote, byte for byte.
 */
export const outputEncoding = z.enum(outputViewEncodings).meta({ id: 'OutputEncoding' });
export type OutputEncodingParam = z.infer<typeof outputEncoding>;

export const outputChunk = z
  .object({
    id: z.string(), // bigint as string; use as the `after` cursor
    deviceId: uuid,
    /** A job's run: the step (0-based) whose command wrote it. */
    step: z.number().int().nullable(),
    stream: z.enum(outputStreams),
    encoding: outputEncoding,
    data: z.string(),
  })
  .meta({ id: 'OutputChunk' });
export type OutputChunk = z.infer<typeof outputChunk>;
export const outputQuery = z.object({
  deviceId: uuid.optional().describe('Output of this device only'),
  step: z.coerce.number().int().min(0).max(49).optional().describe("A job's run: output of this step only (0-based)"),
  after: outputCursor.optional().describe('Continue after this chunk ID (`nextCursor` of the previous page)'),
  limit: z.coerce.number().int().min(1).max(5000).default(1000).describe('Most chunks to return'),
  encoding: outputEncoding.default('text').describe('`text` (UTF-8, invalid bytes as U+FFFD) or `base64` (the stored bytes exactly)'),
});
export const outputPage = z.object({ items: z.array(outputChunk), nextCursor: z.string().nullable() }).meta({ id: 'OutputPage' });

/**
 * Server-sent events on GET /api/v1/job-runs/:id/events?after=<chunk id>:
 * `output` (data: OutputChunk), `target` (data: JobRunTarget), `run` (data: JobRunSummary),
 * and `end` once the run is finished and all output was sent.
 */
export const jobRunEventNames = ['output', 'target', 'run', 'end'] as const;

// ---- audit log -------------------------------------------------------------------------------
export const auditLogEntry = z
  .object({
    id: z.string(),
    actorType: z.string(),
    actorId: z.string().nullable(),
    actorName: z.string().nullable(),
    action: z.string(),
    targetType: z.string().nullable(),
    targetId: z.string().nullable(),
    details: z.unknown().nullable(),
    ipAddress: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'AuditLogEntry' });
export const auditLogList = z.object({ items: z.array(auditLogEntry), total: z.number().int() }).meta({ id: 'AuditLogList' });

/** Filters of the audit log and its CSV export; every one given must hold. */
export const auditLogFilters = z.object({
  actor: z
    .string()
    .trim()
    .min(1)
    .max(320)
    .refine(noNul, noNulMessage)
    .optional()
    .describe("Who: the actor's name (a user's email, a device's hostname) or ID, whole"),
  actorType: z.enum(auditActorTypes).optional().describe('What kind of actor'),
  action: z
    .string()
    .trim()
    .max(100)
    .regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?$/, 'an action such as user.create, or job_run.* for all of a kind')
    .optional()
    .describe('An action (`user.create`), or every action of a kind (`job_run.*`)'),
  targetType: z
    .string()
    .trim()
    .max(50)
    .regex(/^[a-z][a-z0-9_]*$/, 'a target type such as user or job_run')
    .optional()
    .describe('What kind of thing was acted on (`user`, `job_run`…)'),
  targetId: z.string().max(200).trim().min(1).refine(noNul, noNulMessage).optional().describe('The ID of what was acted on'),
  /** At or after. */
  from: timeRange.from,
  /** Before. */
  to: timeRange.to,
});
export type AuditLogFilters = z.output<typeof auditLogFilters>;
export const auditLogListQuery = pagination.extend(auditLogFilters.shape).refine(fromBeforeTo, toAfterFrom);
export const auditLogExportQuery = auditLogFilters.refine(fromBeforeTo, toAfterFrom);

/** A file held by the server for `file.fetch` commands, by content hash (POST /api/v1/files). */
export const storedFile = z
  .object({
    sha256: sha256Hex,
    size: z.number().int(),
    /** The name given at upload, for people; devices write the file wherever the command says. */
    name: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'StoredFile' });
export type StoredFile = z.infer<typeof storedFile>;
export const storedFileName = z.string().max(255).trim().min(1).refine(noNul, noNulMessage);
/** The bytes of a stored file, as uploaded (POST /api/v1/files) and as devices download them. */
export const fileContent = z.string().meta({ id: 'FileContent', format: 'binary', description: 'The bytes of the file' });

// ---- software depot: artifacts (ADR 23) -----------------------------------------------------------
export const artifactOrigins = ['upload', 'url', 'share'] as const;
/**
 * An installer or other file in the software depot, content-addressed by SHA-256: uploaded, imported from a URL or
 * registered where it already is on a share. `metadata` is what was read from the file (MSI properties, a .deb's
 * control file, …) to prefill a package version; `versions` counts the package versions that use it (while one
 * does, it cannot be deleted).
 */
export const depotArtifact = z
  .object({
    id: z.string().uuid(),
    sha256: sha256Hex,
    size: z.number().int(),
    fileName: z.string(),
    origin: z.enum(artifactOrigins),
    originUrl: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    versions: z.number().int(),
    createdAt: z.string(),
  })
  .meta({ id: 'DepotArtifact' });
export type DepotArtifact = z.infer<typeof depotArtifact>;
export const depotArtifactList = z.object({ items: z.array(depotArtifact), total: z.number().int() }).meta({ id: 'DepotArtifactList' });
/** A file name as the depot keeps it and agents write it: one path segment, no control characters. */
export const artifactFileName = z
  .string()
  .max(255)
  .trim()
  .min(1)
  .refine(
    (n) => !/[\u0000-\u001f\u007f/\\]/.test(n) && n !== '.' && n !== '..',
    'must be a file name without slashes or control characters',
  );
export const signingKeyStates = ['pending', 'active', 'previous', 'retired'] as const;
/**
 * A depot signing key as admins manage it (ADR 23): `pending` is published to agents but signs nothing, `active`
 * signs, `previous` is still published, `retired` no longer. The private half never leaves the secret store.
 */
export const depotSigningKeyInfo = z
  .object({
    keyId: z.string(),
    publicKey: z.string().describe('The raw 32-byte Ed25519 public key, base64'),
    state: z.enum(signingKeyStates),
    createdAt: z.string(),
    activatedAt: z.string().nullable(),
    retiredAt: z.string().nullable(),
  })
  .meta({ id: 'DepotSigningKeyInfo' });
export type DepotSigningKeyInfo = z.infer<typeof depotSigningKeyInfo>;
export const depotSigningKeyList = z.object({ items: z.array(depotSigningKeyInfo) }).meta({ id: 'DepotSigningKeyList' });
// ---- software depot: packages and versions (ADR 23) -----------------------------------------------
const packageText = (max: number) => z.string().max(max).trim().refine(noNul, noNulMessage);
export const softwarePackage = z
  .object({
    id: z.string().uuid(),
    name: z.string(),
    vendor: z.string(),
    description: z.string(),
    category: z.string(),
    platform: z.enum(packagePlatforms),
    versionCount: z.number().int(),
    /** The highest version (by the generic version order), null without versions. */
    latestVersion: z.string().nullable(),
    /** An icon was uploaded (`GET /software/packages/{id}/icon`). */
    hasIcon: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'SoftwarePackage' });
/** Largest package icon. */
export const MAX_PACKAGE_ICON_BYTES = 256 * 1024;
/** Icon formats (an SVG could carry script, so none). */
export const packageIconTypes = ['image/png', 'image/jpeg', 'image/webp'] as const;
export type SoftwarePackage = z.infer<typeof softwarePackage>;
export const softwarePackageList = z
  .object({ items: z.array(softwarePackage), total: z.number().int() })
  .meta({ id: 'SoftwarePackageList' });
export const createSoftwarePackageBody = z
  .object({
    name: packageText(200).pipe(z.string().min(1)),
    vendor: packageText(200).default(''),
    description: packageText(4000).default(''),
    category: packageText(100).default(''),
    platform: z.enum(packagePlatforms),
  })
  .strict()
  .meta({ id: 'CreateSoftwarePackageBody' });
export const updateSoftwarePackageBody = z
  .object({
    name: packageText(200).pipe(z.string().min(1)).optional(),
    vendor: packageText(200).optional(),
    description: packageText(4000).optional(),
    category: packageText(100).optional(),
  })
  .strict()
  .meta({ id: 'UpdateSoftwarePackageBody' });
export const softwarePackageListQuery = pagination.extend({
  q: searchText.optional().describe('Packages whose name or vendor contains this (case-insensitive)'),
  platform: z.enum(packagePlatforms).optional().describe('Packages for this platform'),
  category: packageText(100).optional().describe('Exactly this category'),
});

const packageDependency = z.object({ packageId: z.string().uuid(), version: versionConstraints.optional() }).strict();
/**
 * A version of a package: its artifacts (the installer first), how to install and uninstall it, what counts as
 * success, when it is installed (detection), what a device needs (requirements), which packages it needs first and
 * which version it supersedes. Command lines default per installer type (packages/software `defaultCommands`).
 */
export const packageVersion = z
  .object({
    id: z.string().uuid(),
    packageId: z.string().uuid(),
    version: z.string(),
    installerType: z.enum(installerTypes),
    artifactIds: z.array(z.string().uuid()),
    installCommand: z.string(),
    /** Null: no way to uninstall it is known (write one to make it uninstallable). */
    uninstallCommand: z.string().nullable(),
    successExitCodes: z.array(z.number().int()),
    rebootExitCodes: z.array(z.number().int()),
    reboot: z.enum(rebootBehaviours),
    timeoutSeconds: z.number().int(),
    productCode: z.string().nullable(),
    packageName: z.string().nullable(),
    preHook: installHook.nullable(),
    postHook: installHook.nullable(),
    requirements: softwareRequirements,
    detection: z.union([detection, z.null()]),
    dependencies: z.array(packageDependency),
    supersedesId: z.string().uuid().nullable(),
    notes: z.string(),
    createdAt: z.string(),
  })
  .meta({ id: 'PackageVersion' });
export type PackageVersion = z.infer<typeof packageVersion>;
export const packageVersionList = z.object({ items: z.array(packageVersion) }).meta({ id: 'PackageVersionList' });
export const createPackageVersionBody = z
  .object({
    version: softwareVersion,
    installerType: z.enum(installerTypes),
    artifactIds: z.array(z.string().uuid()).max(MAX_VERSION_ARTIFACTS).default([]),
    installCommand: installCommandLine.optional().describe("Default: the installer type's silent install (see packages/software)"),
    uninstallCommand: installCommandLine.optional(),
    successExitCodes: exitCodes.optional(),
    rebootExitCodes: exitCodes.optional(),
    reboot: z.enum(rebootBehaviours).default('if_required'),
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .default(3600),
    productCode: msiGuid.optional(),
    packageName: packageManagerName.optional(),
    installerFramework: z
      .enum(['inno', 'nsis', 'burn', 'installshield'])
      .optional()
      .describe('For exe installers: picks the silent arguments'),
    preHook: installHook.optional(),
    postHook: installHook.optional(),
    requirements: softwareRequirements.default({}),
    detection: detection.optional(),
    dependencies: z.array(packageDependency).max(16).default([]),
    supersedesId: z.string().uuid().optional(),
    notes: packageText(4000).default(''),
  })
  .strict()
  .meta({ id: 'CreatePackageVersionBody' });
export type CreatePackageVersionBody = z.output<typeof createPackageVersionBody>;
/** A package version on one device, as its last software command there reported it. */
export const packageInstallation = z
  .object({
    deviceId: z.string().uuid(),
    hostname: z.string(),
    versionId: z.string().uuid(),
    version: z.string(),
    /** `installed` / `not_installed` after the command; `failed`: the command failed (see `outcome` and `detail`). */
    state: z.enum(['installed', 'not_installed', 'failed']),
    outcome: z.enum(softwareOutcomes),
    detail: z.string().nullable(),
    /** The install needs a restart to complete (the device may have restarted since). */
    rebootRequired: z.boolean(),
    /** When that command ended. */
    checkedAt: z.string(),
  })
  .meta({ id: 'PackageInstallation' });
export type PackageInstallation = z.infer<typeof packageInstallation>;
export const packageInstallationList = z
  .object({ items: z.array(packageInstallation), total: z.number().int() })
  .meta({ id: 'PackageInstallationList' });
export type PackageInstallationList = z.infer<typeof packageInstallationList>;
export const packageInstallationListQuery = pagination.extend({
  state: z.enum(['installed', 'not_installed', 'failed']).optional().describe('Only devices in this state'),
  versionId: z.string().uuid().optional().describe('Only this version'),
});

/** Where agents may download artifacts from besides the server (ADR 23); `depot` is the built-in one. */
export const depotSource = z
  .object({
    id: z.string().uuid(),
    name: z.string(),
    kind: z.enum(depotSourceKinds),
    /** Lower first: agents try the sources for their subnets, then those for every device, each group by priority. */
    priority: z.number().int(),
    enabled: z.boolean(),
    settings: z.record(z.string(), z.unknown()),
    /** CIDRs of the devices this source serves (other devices are not sent it); empty: every device. */
    subnets: z.array(z.string()),
    health: z.object({
      checkedAt: z.string().nullable(),
      reachable: z.boolean().nullable(),
      /** Free space where the source keeps artifacts, in bytes, when the server can see it. */
      freeBytes: z.number().int().nullable(),
      error: z.string().nullable(),
    }),
    /** Artifacts this source holds. */
    artifacts: z.number().int(),
  })
  .meta({ id: 'DepotSource' });
export type DepotSource = z.infer<typeof depotSource>;
export const depotSourceList = z.object({ items: z.array(depotSource) }).meta({ id: 'DepotSourceList' });
const sourceCidr = z
  .string()
  .max(64)
  .refine((c) => /^[0-9A-Fa-f:.]+\/\d{1,3}$/.test(c) && isCidr(c), 'must be a CIDR such as 10.1.0.0/16 or 2001:db8::/32');
/** An HTTP(S) mirror: artifacts at `<baseUrl>/<aa>/<sha256>`. */
export const httpSourceSettings = z.object({ baseUrl: z.url({ protocol: /^https?$/ }).max(2048) }).strict();
/** An SMB share: Windows agents read `uncPath` (\\\\server\\share\\path), Linux agents `mountPath` (where it is mounted). */
export const shareSourceSettings = z
  .object({
    uncPath: z
      .string()
      .max(1024)
      .regex(
        /^\\\\[^\\/\u0000-\u001f]+\\[^\\/\u0000-\u001f]+(\\[^\\/\u0000-\u001f]+)*\\?$/,
        'must be a UNC path such as \\\\server\\share\\depot',
      )
      .optional(),
    mountPath: z
      .string()
      .max(1024)
      .regex(/^\/[^\u0000-\u001f]*$/, 'must be an absolute path such as /mnt/depot')
      .optional(),
  })
  .strict()
  .refine((s) => s.uncPath !== undefined || s.mountPath !== undefined, 'needs uncPath, mountPath or both');
/**
 * An S3-compatible bucket (AWS S3, MinIO, Ceph RGW, …): artifacts at `<prefix><aa>/<sha256>`; agents download them
 * through presigned GET URLs. `secretAccessKey` goes to the secret store and is never answered: the source's settings
 * say `hasSecret` instead. On a change of settings it may be left out to keep the stored one.
 */
const s3SettingsFields = {
  endpoint: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .describe('The S3 API endpoint, e.g. https://s3.eu-central-1.amazonaws.com or http://minio.internal:9000'),
  region: z
    .string()
    .max(64)
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a region such as eu-central-1 (MinIO: us-east-1)')
    .default('us-east-1'),
  bucket: z
    .string()
    .min(3)
    .max(63)
    .regex(/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/, 'must be a bucket name: lowercase letters, digits, dots and hyphens'),
  prefix: z
    .string()
    .max(512)
    .regex(/^([A-Za-z0-9!_.*'()-]+\/)*$/, 'must be empty or path segments each ending in a slash, such as depot/')
    .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), 'must not contain . or .. segments')
    .default('')
    .describe('Put before `<aa>/<sha256>` in object keys'),
  forcePathStyle: z.boolean().default(false).describe('Path-style URLs (`<endpoint>/<bucket>/<key>`), as MinIO needs'),
  accessKeyId: z
    .string()
    .min(1)
    .max(256)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
};
const s3SecretAccessKey = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');
export const s3SourceSettings = z.object({ ...s3SettingsFields, secretAccessKey: s3SecretAccessKey }).strict();
export type S3SourceSettings = z.output<typeof s3SourceSettings>;
/** What a change of an S3 source's settings takes: the same, the secret optional (left out: the stored one stays). */
export const s3SourceSettingsUpdate = z
  .object({
    ...s3SettingsFields,
    secretAccessKey: s3SecretAccessKey.optional(),
    hasSecret: z.boolean().optional().describe('Ignored: settings as answered can be sent back as they are'),
  })
  .strict();
const sourceFields = {
  name: packageText(200).pipe(z.string().min(1)),
  priority: z.number().int().min(0).max(10_000).default(100),
  enabled: z.boolean().default(true),
  subnets: z.array(sourceCidr).max(64).default([]),
};
export const createDepotSourceBody = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('http'), ...sourceFields, settings: httpSourceSettings }).strict(),
    z.object({ kind: z.literal('share'), ...sourceFields, settings: shareSourceSettings }).strict(),
    z.object({ kind: z.literal('s3'), ...sourceFields, settings: s3SourceSettings }).strict(),
  ])
  .meta({ id: 'CreateDepotSourceBody' });
export type CreateDepotSourceBody = z.output<typeof createDepotSourceBody>;
export const updateDepotSourceBody = z
  .object({
    name: sourceFields.name.optional(),
    priority: z.number().int().min(0).max(10_000).optional(),
    enabled: z.boolean().optional(),
    subnets: z.array(sourceCidr).max(64).optional(),
    settings: z.record(z.string(), z.unknown()).optional().describe("The kind's settings, whole (as when created)"),
  })
  .strict()
  .meta({ id: 'UpdateDepotSourceBody' });
export type UpdateDepotSourceBody = z.output<typeof updateDepotSourceBody>;
/** What replicating the built-in depot to a source did (POST /depot/sources/{id}/replicate). */
export const depotReplicationSummary = z
  .object({
    /** Artifacts written to the source (an S3 bucket, a share mounted on the server). */
    copied: z.number().int(),
    /** Artifacts found there already, with the right size (an HTTP mirror is only verified, never written). */
    verified: z.number().int(),
    /** Artifacts an HTTP mirror does not have (answered 404). */
    missing: z.number().int(),
    /** Location rows removed because a mirror no longer has the artifact (or has other bytes of it). */
    removed: z.number().int(),
    failed: z.array(z.object({ artifactId: z.string().uuid(), sha256: sha256Hex, error: z.string() })),
  })
  .meta({ id: 'DepotReplicationSummary' });
export type DepotReplicationSummary = z.infer<typeof depotReplicationSummary>;
export const artifactReplicationOutcomes = ['copied', 'verified', 'present', 'missing', 'removed', 'skipped', 'failed'] as const;
/** What replicating one artifact did at each source (POST /depot/artifacts/{id}/replicate). */
export const depotArtifactReplication = z
  .object({
    sources: z.array(
      z.object({
        sourceId: z.string().uuid(),
        name: z.string(),
        /**
         * `copied` written there; `verified` found there with the right size (now recorded); `present` recorded there
         * already; `missing`/`removed` an HTTP mirror does not have it (and its location was removed); `skipped` the
         * server cannot reach the source's files (a share without mountPath); `failed` see `error`.
         */
        outcome: z.enum(artifactReplicationOutcomes),
        error: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'DepotArtifactReplication' });
export type DepotArtifactReplication = z.infer<typeof depotArtifactReplication>;
/** An http(s) URL without user name or password (they would end up in the audit log and `originUrl`). */
const importUrl = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .refine((u) => {
    // Zod runs this even when the URL check failed: a string that is no URL is that check's to refuse.
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      return true;
    }
    return parsed.username === '' && parsed.password === '';
  }, 'must not carry a user name or password');
export const importDepotArtifactBody = z
  .object({
    url: importUrl.describe('Fetched by the server, from its own network'),
    fileName: artifactFileName.optional().describe("Default: the URL's last path segment"),
    sha256: sha256Hex.optional().describe('When given, the import is refused unless the downloaded bytes have this SHA-256'),
  })
  .strict()
  .meta({ id: 'ImportDepotArtifactBody' });
export type ImportDepotArtifactBody = z.output<typeof importDepotArtifactBody>;
/** A path below a share's root: relative, `/`-separated, no `.` or `..` segments, no control characters. */
export const sharePath = z
  .string()
  .min(1)
  .max(1024)
  .refine(
    (p) => !/[\u0000-\u001f\u007f\\]/.test(p) && !p.startsWith('/') && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'),
    'must be a relative path with / between segments, without empty, . or .. segments, backslashes or control characters',
  );
export const registerDepotArtifactBody = z
  .object({
    sourceId: z.string().uuid().describe('A share source with a `mountPath` the server can read'),
    path: sharePath.describe('Where the file is, relative to the share root (e.g. `vendor/app-1.2.msi`)'),
    fileName: artifactFileName.optional().describe("Default: the path's last segment"),
  })
  .strict()
  .meta({ id: 'RegisterDepotArtifactBody' });
export type RegisterDepotArtifactBody = z.output<typeof registerDepotArtifactBody>;
export const depotArtifactListQuery = pagination.extend({
  q: searchText.optional().describe('Artifacts whose file name contains this (case-insensitive), or whose SHA-256 starts with it'),
});

// ---- secrets (packages/secrets) -------------------------------------------------------------------
/** What the API says about a stored secret: never its value. Features that keep secrets answer with this. */
export const secretMetadata = z.object({
  id: uuid,
  ownerType: z.string(),
  ownerId: z.string(),
  purpose: z.string(),
  keyId: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const secretKeyUsage = z
  .object({
    configured: z.boolean(),
    currentKeyId: z.string().nullable(),
    keys: z.array(z.object({ keyId: z.string(), secrets: z.number().int(), current: z.boolean(), configured: z.boolean() })),
  })
  .meta({ id: 'SecretKeyUsage' });
export const secretRotation = z
  .object({ currentKeyId: z.string(), rewrapped: z.number().int(), remaining: z.number().int() })
  .meta({ id: 'SecretRotation' });
