/**
 * A job step as the command a device runs (packages/contracts/src/commands.ts): shell, PowerShell and cmd steps are
 * `shell` commands in that shell, script steps `script`, file copies `file.fetch`, reboots `reboot`. Wait steps run
 * no command. Parameter values travel in `env`; secret parameters only as `secretRefs` (their values are put in by
 * the API when it hands the command to the agent, so no stored payload holds one).
 */
import type { CommandPayload } from '@opsconductor/contracts/commands';
import type { JobDefinition, JobStep } from '@opsconductor/contracts/jobs';
import { parameterVariable } from './references.ts';
import { renderStep } from './run-values.ts';

export type StepPayload = { ok: true; payload: CommandPayload } | { ok: false; problem: string };

/**
 * The command of `step` on one device. `values`: the device's values by parameter name (deviceValues, without
 * secrets); `secretNames`: the secret parameters the run has values for; `fileSize`: the size of a file copy's file.
 */
export function stepPayload(
  step: Exclude<JobStep, { kind: 'wait' }>,
  values: ReadonlyMap<string, string>,
  secretNames: readonly string[],
  fileSize?: number,
): StepPayload {
  const rendered = renderStep(step, values);
  if (rendered.problem) return { ok: false, problem: rendered.problem };
  const { timeoutSeconds } = step;
  const environment = {
    ...(Object.keys(rendered.environment).length > 0 ? { env: rendered.environment } : {}),
    ...(secretNames.length > 0 ? { secretRefs: Object.fromEntries(secretNames.map((name) => [parameterVariable(name), name])) } : {}),
  };
  switch (step.kind) {
    case 'shell':
    case 'powershell':
    case 'cmd':
      return {
        ok: true,
        payload: {
          kind: 'shell',
          command: rendered.text!,
          shell: step.kind === 'shell' ? 'sh' : step.kind,
          timeoutSeconds,
          ...environment,
        },
      };
    case 'script':
      return {
        ok: true,
        payload: { kind: 'script', interpreter: step.interpreter, script: rendered.text!, timeoutSeconds, ...environment },
      };
    case 'file_copy':
      if (fileSize === undefined) return { ok: false, problem: `the file ${step.fileSha256} is not in the file store` };
      return {
        ok: true,
        payload: {
          kind: 'file.fetch',
          sha256: step.fileSha256,
          size: fileSize,
          path: rendered.text!,
          ...(step.mode ? { mode: step.mode } : {}),
          ...(step.owner ? { owner: step.owner } : {}),
          timeoutSeconds,
        },
      };
    case 'reboot':
      return { ok: true, payload: { kind: 'reboot', timeoutSeconds } };
  }
}

/** The secret parameters of a job: the names whose values only the secret store holds. */
export function secretParameterNames(def: JobDefinition): string[] {
  return def.parameters.filter((p) => p.type === 'secret').map((p) => p.name);
}

/** The files a job's file-copy steps push (the run checks they are stored before it starts). */
export function jobFiles(def: JobDefinition): string[] {
  return [...new Set(def.steps.flatMap((s) => (s.kind === 'file_copy' ? [s.fileSha256] : [])))];
}
