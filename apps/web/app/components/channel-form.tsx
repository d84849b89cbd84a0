/** The fields of a notification channel's configuration, per type; secret fields are password inputs, never filled. */
import { useState } from 'react';
import { channelTypeLabel } from '~/lib/alerts';
import { Field, Input, Select } from './ui';

const TYPES = ['slack', 'teams', 'discord', 'webhook', 'smtp', 'resend'] as const;

export function ChannelConfigFields({
  issues,
  fixedType,
  initialType = 'slack',
}: {
  issues: Record<string, string>;
  /** The type of an existing channel (it cannot change): no type picker. */
  fixedType?: string;
  initialType?: string;
}) {
  const [type, setType] = useState(fixedType ?? initialType);
  const text = (name: string, label: string, props: { placeholder?: string; type?: string; hint?: string } = {}) => (
    <Field label={label} error={issues[name]} hint={props.hint}>
      {(p) => <Input {...p} name={name} type={props.type ?? 'text'} placeholder={props.placeholder} autoComplete="off" />}
    </Field>
  );
  return (
    <div className="space-y-4">
      {fixedType ? (
        <input type="hidden" name="type" value={fixedType} />
      ) : (
        <Field label="Type" error={issues.type}>
          {(p) => (
            <Select {...p} name="type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
              {TYPES.map((t) => (
                <option key={t} value={t}>
                  {channelTypeLabel[t]}
                </option>
              ))}
            </Select>
          )}
        </Field>
      )}
      {type === 'slack' || type === 'teams' || type === 'discord'
        ? text('webhookUrl', 'Webhook URL', {
            type: 'password',
            placeholder: 'https://…',
            hint: 'A secret: stored encrypted, never shown again.',
          })
        : null}
      {type === 'webhook' ? (
        <>
          {text('url', 'URL', { type: 'password', placeholder: 'https://…', hint: 'Kept as a secret: URLs often carry tokens.' })}
          {text('signingSecret', 'Signing secret', {
            type: 'password',
            placeholder: 'whsec_…',
            hint: 'Standard Webhooks: whsec_ and 24–64 bytes in base64.',
          })}
        </>
      ) : null}
      {type === 'smtp' ? (
        <>
          <div className="grid grid-cols-[minmax(0,1fr)_100px_140px] gap-3">
            {text('host', 'Host', { placeholder: 'smtp.example.com' })}
            {text('port', 'Port', { placeholder: '587' })}
            <Field label="Security" error={issues.security}>
              {(p) => (
                <Select {...p} name="security" defaultValue="starttls">
                  <option value="starttls">STARTTLS</option>
                  <option value="tls">TLS</option>
                  <option value="none">None</option>
                </Select>
              )}
            </Field>
          </div>
          <div className="grid grid-cols-2 gap-3">
            {text('username', 'User name (optional)')}
            {text('password', 'Password (optional)', { type: 'password' })}
          </div>
          {text('from', 'From', { placeholder: 'alerts@example.com' })}
          {text('to', 'To', { placeholder: 'ops@example.com, oncall@example.com', hint: 'One or more addresses, separated by commas.' })}
        </>
      ) : null}
      {type === 'resend' ? (
        <>
          {text('apiKey', 'API key', { type: 'password', placeholder: 're_…' })}
          {text('from', 'From', { placeholder: 'alerts@example.com' })}
          {text('to', 'To', { placeholder: 'ops@example.com', hint: 'One or more addresses, separated by commas.' })}
          {text('baseUrl', 'API base URL (optional)', { placeholder: 'https://api.resend.com' })}
        </>
      ) : null}
    </div>
  );
}
