/**
 * Server pieces of the software and depot pages: the `:id` of the URL, API refusals as form answers, the installer
 * types' default commands (packages/software, the same the API fills in), detection rules in words, and where a
 * package is installed.
 */
import { randomUUID } from 'node:crypto';
import { data, type LoaderFunctionArgs } from '@remix-run/node';
import { uuid } from '@opsconductor/contracts/api';
import { installerTypes, type InstallerType } from '@opsconductor/contracts/constants';
import type { components } from '@opsconductor/contracts/openapi-types';
import type { Detection } from '@opsconductor/contracts/software';
import { defaultCommands, describeRule } from '@opsconductor/software';
import { ApiError, type RouteErrorData } from './api.server';
import { fieldIssues } from './agentless';
import { detectionLines, type DetectionLine } from './detection-tree';

/** An answer of a form: what went wrong, where, and the posted values to show again. */
export type FormAnswer<Values> = {
  intent: string;
  formError?: string;
  issues?: Record<string, string>;
  /** The API's issues by path, for the detection builder to place at its rules. */
  errors?: Array<{ path: string; message: string }>;
  values?: Values;
  code?: string;
  /** New for every answer: the form starts again from it. */
  answer: string;
};

export function idParam(params: LoaderFunctionArgs['params'], what: string): string {
  const parsed = uuid.safeParse(params.id);
  if (!parsed.success) throw data<RouteErrorData>({ title: `${what} not found` }, { status: 404 });
  return parsed.data;
}

/** What an API refusal says (409, 400, 422…), at the fields it names; anything else is rethrown. */
export function refusal<Values>(error: unknown, intent: string, values?: Values) {
  // 401, 403, 404 and 5xx became a redirect or an error page in requireApi's client already.
  if (!(error instanceof ApiError)) throw error;
  const issues = fieldIssues(error.errors);
  const formError = issues._form ?? error.detail ?? error.title;
  delete issues._form;
  return data<FormAnswer<Values>>(
    { intent, formError, issues, errors: error.errors, code: error.code, answer: randomUUID(), ...(values ? { values } : {}) },
    { status: error.status },
  );
}

export const invalid = <Values>(intent: string, issues: Record<string, string>, values?: Values) =>
  data<FormAnswer<Values>>(
    { intent, formError: 'Check the highlighted fields.', issues, answer: randomUUID(), ...(values ? { values } : {}) },
    { status: 400 },
  );

export type CommandDefaults = Record<
  InstallerType,
  { install: string | null; uninstall: string | null; successExitCodes: number[]; rebootExitCodes: number[] }
>;

/**
 * What the server fills in per installer type when the form leaves the commands empty, for the placeholders.
 * Uninstall lines that use `{productCode}` / `{packageName}` are given as if the version has them.
 */
export function commandDefaults(): CommandDefaults {
  const out = {} as CommandDefaults;
  for (const type of installerTypes) {
    const d = defaultCommands(type, { productCode: '{productCode}', packageName: 'package' });
    out[type] = d
      ? { install: d.install, uninstall: d.uninstall, successExitCodes: d.successExitCodes, rebootExitCodes: d.rebootExitCodes }
      : { install: null, uninstall: null, successExitCodes: [0], rebootExitCodes: [] };
  }
  return out;
}

/**
 * A stored detection in words. The document types leave `view` and `timeoutSeconds` optional (they have defaults);
 * what the API stored was validated, so they are set.
 */
export function describeDetection(detection: components['schemas']['Detection'] | null): DetectionLine | null {
  return detection ? detectionLines(detection as Detection, describeRule) : null;
}
