/** The alert rule form: fields per condition type, scope, severity, cooldown, channels, escalation policy. */
import { Form, Link, useNavigation } from '@remix-run/react';
import { useState } from 'react';
import { alertSeverities, ruleTypeLabel, severityLabel } from '~/lib/alerts';
import type { RuleCatalog, StoredRule } from '~/lib/rule-tree';
import { RuleBuilder } from './rule-builder';
import { Alert, Button, Card, Field, Input, Select, buttonClass } from './ui';

export type RuleFormDefaults = {
  name: string;
  condition: Record<string, unknown>;
  groupIds: string[];
  severity: string;
  cooldownMinutes: number;
  channelIds: string[];
  escalationPolicyId: string | null;
  enabled: boolean;
};

type Choice = { id: string; name: string };

function Checkboxes({
  name,
  label,
  choices,
  checked,
  empty,
}: {
  name: string;
  label: string;
  choices: Choice[];
  checked: string[];
  empty: string;
}) {
  return (
    <fieldset className="space-y-1">
      <legend className="text-xs font-medium text-zinc-700">{label}</legend>
      {choices.length === 0 ? <p className="text-xs text-zinc-500">{empty}</p> : null}
      <div className="flex max-h-40 flex-wrap gap-x-4 gap-y-1 overflow-y-auto">
        {choices.map((c) => (
          <label key={c.id} className="flex items-center gap-1.5 text-[13px] text-zinc-700">
            <input type="checkbox" name={name} value={c.id} defaultChecked={checked.includes(c.id)} /> {c.name}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

export function AlertRuleForm({
  defaults,
  choices,
  result,
  submitLabel,
  cancelTo,
}: {
  defaults: RuleFormDefaults;
  choices: { groups: Choice[]; channels: Choice[]; policies: Choice[]; catalog: RuleCatalog | null };
  result: { formError?: string; issues?: Record<string, string> } | undefined;
  submitLabel: string;
  cancelTo: string;
}) {
  const [type, setType] = useState(String(defaults.condition.type ?? 'device_offline'));
  const busy = useNavigation().state === 'submitting';
  const issues = result?.issues ?? {};
  const c = defaults.condition;
  return (
    <Form method="post" noValidate className="max-w-3xl space-y-4" data-testid="alert-rule-form">
      {result?.formError ? <Alert title="The rule was not saved">{result.formError}</Alert> : null}
      <Card title="Condition">
        <div className="space-y-4 p-4">
          <Field label="Name" error={issues.name}>
            {(p) => <Input {...p} name="name" defaultValue={defaults.name} maxLength={200} />}
          </Field>
          <Field label="Alert when" error={issues.type}>
            {(p) => (
              <Select {...p} name="type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
                {Object.entries(ruleTypeLabel).map(([t, label]) => (
                  <option key={t} value={t}>
                    {label}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          {type === 'device_offline' ? (
            <Field label="Offline for more than (minutes)" error={issues.minutes}>
              {(p) => (
                <Input {...p} name="minutes" type="number" min={1} max={10080} defaultValue={String(c.minutes ?? 15)} className="w-32" />
              )}
            </Field>
          ) : null}
          {type === 'disk_free' ? (
            <Field label="Free space below (%)" error={issues.belowPercent}>
              {(p) => (
                <Input
                  {...p}
                  name="belowPercent"
                  type="number"
                  min={0.1}
                  max={99}
                  step="0.1"
                  defaultValue={String(c.belowPercent ?? 10)}
                  className="w-32"
                />
              )}
            </Field>
          ) : null}
          {type === 'deployment_failed' ? (
            <label className="flex items-center gap-2 text-[13px] text-zinc-700">
              <input type="checkbox" name="includePaused" defaultChecked={c.includePaused !== false} /> Also when a rollout paused itself
              (auto-pause, health)
            </label>
          ) : null}
          {type === 'agent_outdated' ? (
            <Field label="Minimum agent version" error={issues.minimumVersion}>
              {(p) => (
                <Input {...p} name="minimumVersion" defaultValue={String(c.minimumVersion ?? '')} placeholder="1.4.0" className="w-40" />
              )}
            </Field>
          ) : null}
          {type === 'device_rule' ? (
            choices.catalog ? (
              <div className="space-y-2">
                {issues.rule ? <Alert>{issues.rule}</Alert> : null}
                <RuleBuilder catalog={choices.catalog} initialRule={(c.type === 'device_rule' ? c.rule : null) as StoredRule | null} />
              </div>
            ) : (
              <p className="text-xs text-zinc-500">The rule builder could not be loaded.</p>
            )
          ) : null}
        </div>
      </Card>
      <Card title="Scope and notifications">
        <div className="space-y-4 p-4">
          <Checkboxes
            name="groupIds"
            label="Groups (none: every device)"
            choices={choices.groups}
            checked={defaults.groupIds}
            empty="No groups."
          />
          <div className="grid grid-cols-2 gap-3">
            <Field label="Severity" error={issues.severity}>
              {(p) => (
                <Select {...p} name="severity" defaultValue={defaults.severity}>
                  {alertSeverities.map((s) => (
                    <option key={s} value={s}>
                      {severityLabel[s]}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
            <Field label="Cooldown (minutes)" error={issues.cooldownMinutes} hint="A resolved alert does not open again for this long.">
              {(p) => (
                <Input {...p} name="cooldownMinutes" type="number" min={0} max={10080} defaultValue={String(defaults.cooldownMinutes)} />
              )}
            </Field>
          </div>
          <Checkboxes
            name="channelIds"
            label="Channels (notified when there is no escalation policy)"
            choices={choices.channels}
            checked={defaults.channelIds}
            empty="No channels yet."
          />
          {issues.channelIds ? <p className="text-xs text-red-600">{issues.channelIds}</p> : null}
          <Field label="Escalation policy" error={issues.escalationPolicyId}>
            {(p) => (
              <Select {...p} name="escalationPolicyId" defaultValue={defaults.escalationPolicyId ?? ''}>
                <option value="">None: notify the channels above</option>
                {choices.policies.map((pol) => (
                  <option key={pol.id} value={pol.id}>
                    {pol.name}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          <label className="flex items-center gap-2 text-[13px] text-zinc-700">
            <input type="checkbox" name="enabled" defaultChecked={defaults.enabled} /> Enabled
          </label>
        </div>
      </Card>
      <div className="flex items-center gap-2">
        <Button type="submit" variant="primary" disabled={busy}>
          {busy ? 'Saving…' : submitLabel}
        </Button>
        <Link to={cancelTo} className={buttonClass('ghost')}>
          Cancel
        </Link>
      </div>
    </Form>
  );
}
