/** Reading the group form (name, description, rule JSON) and turning API failures into form errors. */
import { data } from '@remix-run/node';
import { z } from 'zod';
import type { Rule } from '@opsconductor/contracts/rules';
import type { GroupFormData } from '~/components/groups';
import { ApiError } from './api.server';

const fields = z.object({
  name: z.string().trim().min(1, 'Enter a name').max(200, 'At most 200 characters'),
  description: z.string().max(2000, 'At most 2,000 characters'),
});

export type ParsedGroupForm =
  { ok: true; name: string; description: string; rule: Rule | null; ruleText: string } | { ok: false; result: GroupFormData };

export function parseGroupForm(form: FormData, kind: 'static' | 'dynamic'): ParsedGroupForm {
  const parsed = fields.safeParse({
    name: form.get('name') ?? '',
    description: String(form.get('description') ?? '').replace(/\r\n?/g, '\n'),
  });
  const fieldErrors: Record<string, string> = {};
  if (!parsed.success) for (const i of parsed.error.issues) fieldErrors[String(i.path[0])] ??= i.message;
  const ruleText = String(form.get('rule') ?? '');
  let rule: Rule | null = null;
  if (kind === 'dynamic') {
    if (!ruleText) {
      fieldErrors.rule = 'Complete the rule: every condition needs a field, an operator and a value.';
    } else {
      try {
        const json: unknown = JSON.parse(ruleText);
        if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not an object');
        rule = json as Rule;
      } catch {
        fieldErrors.rule = 'The rule is not valid JSON.';
      }
    }
  }
  if (!parsed.success || Object.keys(fieldErrors).length > 0) return { ok: false, result: { fieldErrors } };
  return { ok: true, name: parsed.data.name, description: parsed.data.description, rule, ruleText };
}

/** An API failure of create/update as form data (rule errors go to the builder), or rethrows. */
export function groupFormFailure(error: unknown, ruleText: string) {
  if (!(error instanceof ApiError)) throw error;
  const isRuleError = (path: string) => error.code === 'rule_invalid' || /^(body[./])?rule([./[]|$)/.test(path);
  const ruleErrors = error.errors.filter((e) => isRuleError(e.path)).map((e) => ({ path: e.path, message: e.message }));
  const fieldErrors = new ApiError(
    error.status,
    error.code,
    error.title,
    error.detail,
    error.errors.filter((e) => !isRuleError(e.path)),
  ).fieldErrors();
  return data<GroupFormData>(
    {
      formError: ruleErrors.length ? 'The rule is not valid; see the problems below.' : (error.detail ?? error.title),
      fieldErrors,
      ...(ruleErrors.length ? { ruleErrors: { rule: ruleText, errors: ruleErrors } } : {}),
    },
    { status: error.status },
  );
}
