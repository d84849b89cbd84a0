/** The escalation policy form: a name and its levels (channels to notify, minutes to wait for an acknowledgement). */
import { Form, Link, useNavigation } from '@remix-run/react';
import { useState } from 'react';
import { Alert, Button, Card, Field, Input, buttonClass } from './ui';

const MAX_LEVELS = 10;
type Level = { key: number; channelIds: string[]; delayMinutes: number };

export function PolicyForm({
  defaults,
  channels,
  result,
  submitLabel,
}: {
  defaults: { name: string; levels: Array<{ channelIds: string[]; delayMinutes: number }> };
  channels: Array<{ id: string; name: string }>;
  result: { formError?: string; issues?: Record<string, string> } | undefined;
  submitLabel: string;
}) {
  const [levels, setLevels] = useState<Level[]>(() =>
    (defaults.levels.length ? defaults.levels : [{ channelIds: [], delayMinutes: 15 }]).map((l, i) => ({ ...l, key: i })),
  );
  const [next, setNext] = useState(levels.length);
  const busy = useNavigation().state === 'submitting';
  const issues = result?.issues ?? {};
  return (
    <Form method="post" noValidate className="max-w-3xl space-y-4" data-testid="policy-form">
      {result?.formError ? <Alert title="The policy was not saved">{result.formError}</Alert> : null}
      <input type="hidden" name="levelCount" value={levels.length} />
      <Card>
        <div className="p-4">
          <Field label="Name" error={issues.name}>
            {(p) => <Input {...p} name="name" defaultValue={defaults.name} maxLength={200} />}
          </Field>
        </div>
      </Card>
      {levels.map((l, i) => (
        <Card
          key={l.key}
          title={`Level ${i + 1}`}
          actions={
            levels.length > 1 ? (
              <Button size="sm" variant="ghost" onClick={() => setLevels(levels.filter((x) => x.key !== l.key))}>
                Remove level
              </Button>
            ) : null
          }
        >
          <div className="space-y-3 p-4" data-testid="policy-level">
            <fieldset className="space-y-1">
              <legend className="text-xs font-medium text-zinc-700">Notify</legend>
              {channels.length === 0 ? <p className="text-xs text-zinc-500">No channels yet.</p> : null}
              <div className="flex flex-wrap gap-x-4 gap-y-1">
                {channels.map((c) => (
                  <label key={c.id} className="flex items-center gap-1.5 text-[13px] text-zinc-700">
                    <input type="checkbox" name={`levels.${i}.channelIds`} value={c.id} defaultChecked={l.channelIds.includes(c.id)} />{' '}
                    {c.name}
                  </label>
                ))}
              </div>
              {issues[`levels.${i}.channelIds`] ? <p className="text-xs text-red-600">{issues[`levels.${i}.channelIds`]}</p> : null}
            </fieldset>
            <Field
              label="Then wait (minutes) for an acknowledgement before the next level"
              error={issues[`levels.${i}.delayMinutes`]}
              className="max-w-xs"
            >
              {(p) => (
                <Input {...p} name={`levels.${i}.delayMinutes`} type="number" min={1} max={1440} defaultValue={String(l.delayMinutes)} />
              )}
            </Field>
          </div>
        </Card>
      ))}
      {issues.levels ? <Alert>{issues.levels}</Alert> : null}
      <div className="flex items-center gap-2">
        <Button
          disabled={levels.length >= MAX_LEVELS}
          onClick={() => {
            setLevels([...levels, { key: next, channelIds: [], delayMinutes: 15 }]);
            setNext(next + 1);
          }}
        >
          Add level
        </Button>
        <span className="flex-1" />
        <Link to="/alerts/policies" className={buttonClass('ghost')}>
          Cancel
        </Link>
        <Button type="submit" name="intent" value="save" variant="primary" disabled={busy}>
          {busy ? 'Saving…' : submitLabel}
        </Button>
      </div>
    </Form>
  );
}
