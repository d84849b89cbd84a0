/**
 * A job definition as teams keep it in git (issue 7, "jobs as code"): a name, a description, typed parameters
 * and ordered steps. This is the format of export and import and of every saved version; its JSON Schema is
 * published as docs/schemas/job-definition.schema.json (generated from this module, checked by a test).
 *
 * Parameters reach steps only through `{{ name }}` references, which @opsconductor/jobs turns into environment
 * variable references (never the value spliced into a command line), so a value is always data.
 */
import { z } from 'zod';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from './text.ts';
import { fileMode, fileOwner, sha256Hex, MAX_COMMAND_TIMEOUT_SECONDS, MAX_SCRIPT_LENGTH, MAX_SHELL_COMMAND_LENGTH } from './commands.ts';
import { scriptInterpreters } from './constants.ts';

export const JOB_DEFINITION_SCHEMA_VERSION = 1;
export const MAX_JOB_PARAMETERS = 50;
export const MAX_JOB_STEPS = 50;
/** Longest value a string, enum or secret parameter may take at run time (UTF-16 code units). */
export const MAX_PARAMETER_VALUE_LENGTH = 4096;

const storable = (s: z.ZodString) => s.refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);
/** A parameter's name: what `{{ name }}` refers to, and (upper-cased) the environment variable it becomes. */
export const parameterName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be a letter or _ followed by up to 63 letters, digits or _');
export const jobName = storable(z.string().max(200).trim().min(1));
const label = storable(z.string().max(200));
const description = storable(z.string().max(4000));
const parameterText = storable(z.string().max(MAX_PARAMETER_VALUE_LENGTH));

const parameterBase = { name: parameterName, label: label.optional(), description: description.optional() };
/** What a device-scoped parameter takes from each target device when the run starts. */
export const deviceParameterFields = ['hostname', 'os_name', 'os_version', 'architecture', 'device_id'] as const;

export const jobParameter = z.discriminatedUnion('type', [
  z.strictObject({ ...parameterBase, type: z.literal('string'), required: z.boolean().default(false), default: parameterText.optional() }),
  z.strictObject({
    ...parameterBase,
    type: z.literal('number'),
    required: z.boolean().default(false),
    default: z.number().finite().optional(),
    integer: z.boolean().default(false),
    min: z.number().finite().optional(),
    max: z.number().finite().optional(),
  }),
  z.strictObject({ ...parameterBase, type: z.literal('boolean'), required: z.boolean().default(false), default: z.boolean().optional() }),
  z.strictObject({
    ...parameterBase,
    type: z.literal('enum'),
    required: z.boolean().default(false),
    values: z
      .array(storable(z.string().min(1).max(200)))
      .min(1)
      .max(100),
    default: storable(z.string().max(200)).optional(),
  }),
  /** Given at run time only (never stored with the job): it has no default. */
  z.strictObject({ ...parameterBase, type: z.literal('secret'), required: z.boolean().default(true) }),
  /** Taken from each target device when the run starts ("current hostname"); nobody supplies it. */
  z.strictObject({ ...parameterBase, type: z.literal('device'), field: z.enum(deviceParameterFields) }),
]);
export type JobParameter = z.infer<typeof jobParameter>;
export type JobParameterType = JobParameter['type'];

export const stepConditions = ['always', 'on_success', 'on_failure'] as const;
export type StepCondition = (typeof stepConditions)[number];

const stepBase = {
  name: storable(z.string().max(200).trim().min(1)),
  /** How long one attempt may take. */
  timeoutSeconds: z.number().int().min(1).max(MAX_COMMAND_TIMEOUT_SECONDS).default(3600),
  /** Attempts after the first, each `backoffSeconds` × 2^(attempt − 1) after the previous one ended. */
  retries: z
    .strictObject({ count: z.number().int().min(0).max(10).default(0), backoffSeconds: z.number().int().min(1).max(3600).default(10) })
    .default({ count: 0, backoffSeconds: 10 }),
  /** A failure of this step does not fail the device's run (later steps see it as a success). */
  continueOnError: z.boolean().default(false),
  /** When it runs: always, or only when the steps before it succeeded (the default), or when one of them failed. */
  condition: z.enum(stepConditions).default('on_success'),
};
const commandText = storable(z.string().min(1).max(MAX_SHELL_COMMAND_LENGTH));

export const jobStep = z.discriminatedUnion('kind', [
  /** A command line for /bin/sh -c (POSIX). */
  z.strictObject({ ...stepBase, kind: z.literal('shell'), command: commandText }),
  z.strictObject({ ...stepBase, kind: z.literal('powershell'), command: commandText }),
  z.strictObject({ ...stepBase, kind: z.literal('cmd'), command: commandText }),
  /** A script body run with its interpreter (stored once, sent by reference). */
  z.strictObject({
    ...stepBase,
    kind: z.literal('script'),
    interpreter: z.enum(scriptInterpreters),
    body: storable(z.string().min(1).max(MAX_SCRIPT_LENGTH)),
  }),
  /** A server-held file (by SHA-256) copied to `path`; `path` may hold `{{ name }}` of non-secret parameters. */
  z.strictObject({
    ...stepBase,
    kind: z.literal('file_copy'),
    fileSha256: sha256Hex,
    path: storable(z.string().min(1).max(4096)),
    mode: fileMode.optional(),
    owner: fileOwner.optional(),
  }),
  /** Restarts the device and waits (up to `timeoutSeconds`) until its agent runs under a new boot ID. */
  z.strictObject({ ...stepBase, kind: z.literal('reboot') }),
  z.strictObject({
    ...stepBase,
    kind: z.literal('wait'),
    seconds: z
      .number()
      .int()
      .min(1)
      .max(24 * 3600),
  }),
]);
export type JobStep = z.infer<typeof jobStep>;
export type JobStepKind = JobStep['kind'];

export const jobDefinition = z
  .strictObject({
    schemaVersion: z.literal(JOB_DEFINITION_SCHEMA_VERSION).default(JOB_DEFINITION_SCHEMA_VERSION),
    name: jobName,
    description: description.default(''),
    parameters: z.array(jobParameter).max(MAX_JOB_PARAMETERS).default([]),
    steps: z.array(jobStep).min(1).max(MAX_JOB_STEPS),
    /** Another job (by name) started on the same targets when this run succeeds or fails. */
    chains: z.strictObject({ onSuccess: jobName.optional(), onFailure: jobName.optional() }).default({}),
    /**
     * Four-eyes: a run of this job waits until an operator other than the one who started it approves it; it ends
     * `rejected` when rejected and `expired` when nobody decides within `expiresAfterSeconds`.
     */
    approval: z
      .strictObject({
        expiresAfterSeconds: z
          .number()
          .int()
          .min(60)
          .max(30 * 24 * 3600)
          .default(24 * 3600),
      })
      .optional(),
  })
  .meta({ id: 'JobDefinition', title: 'OpsConductor job definition' });
/** A definition as written (defaults may be left out). */
export type JobDefinitionInput = z.input<typeof jobDefinition>;
/** A definition with every default filled in: what is stored and exported. */
export type JobDefinition = z.output<typeof jobDefinition>;
