/** The agentless pages' parts: protocol badge, pinned host key, connection state, the target form, a credential's secret. */
import { Form, Link, useNavigation } from '@remix-run/react';
import { useId, useState } from 'react';
import {
  credentialKindLabel,
  portAfterSwitch,
  protocolLabel,
  shortFingerprint,
  sshOsFamilies,
  targetWarnings,
  type AgentlessProtocol,
  type CredentialKind,
  type TargetFormValues,
  type WinRmAuth,
} from '~/lib/agentless';
import { Alert, Badge, Button, Card, CopyButton, Field, Input, RelativeTime, Select, Textarea, buttonClass, cx } from './ui';

export function ProtocolBadge({ protocol }: { protocol: AgentlessProtocol }) {
  return (
    <Badge tone={protocol === 'ssh' ? 'blue' : 'neutral'} data-testid="target-protocol" data-status={protocol}>
      {protocolLabel[protocol]}
    </Badge>
  );
}

/** The pinned key in short, the whole of it on hover and to copy; "pinned on first use" without one. */
export function HostKey({ fingerprint, pinnedAt }: { fingerprint: string | null; pinnedAt?: string | null }) {
  if (!fingerprint)
    return (
      <span className="text-xs text-zinc-400" data-testid="target-host-key" data-fingerprint="">
        none · pinned on first connection
      </span>
    );
  return (
    <span className="inline-flex items-center gap-1" data-testid="target-host-key" data-fingerprint={fingerprint}>
      <code className="font-mono text-xs text-zinc-800" title={fingerprint}>
        {shortFingerprint(fingerprint)}
      </code>
      <CopyButton text={fingerprint} />
      {pinnedAt ? (
        <span className="text-xs text-zinc-500">
          pinned <RelativeTime iso={pinnedAt} />
        </span>
      ) : null}
    </span>
  );
}

/** Last connection, and the last error if it came after it. */
export function ConnectionState({
  lastConnectedAt,
  lastError,
  lastErrorAt,
}: {
  lastConnectedAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
}) {
  const failing = lastError && (!lastConnectedAt || (lastErrorAt && lastErrorAt >= lastConnectedAt));
  return (
    <div className="space-y-0.5">
      <p className="text-xs text-zinc-600" data-testid="target-last-connected">
        {lastConnectedAt ? (
          <>
            Connected <RelativeTime iso={lastConnectedAt} />
          </>
        ) : (
          <span className="text-zinc-400">Never connected</span>
        )}
      </p>
      {lastError ? (
        <p
          className={cx('max-w-xs truncate text-xs', failing ? 'text-red-700' : 'text-zinc-500')}
          title={lastError}
          data-testid="target-last-error"
        >
          {lastErrorAt ? (
            <>
              <RelativeTime iso={lastErrorAt} />:{' '}
            </>
          ) : null}
          {lastError}
        </p>
      ) : null}
    </div>
  );
}

export function SecretNote() {
  return (
    <p className="text-xs text-zinc-500" data-testid="secret-note">
      The secret is kept encrypted in the secret store and is never shown again, not even to admins. To change it, rotate it.
    </p>
  );
}

/** Password, or private key (+ passphrase), switched by kind. Its fields always start empty. */
export function CredentialSecretFields({
  initialKind,
  issues,
  legend,
}: {
  initialKind: CredentialKind;
  issues: Record<string, string>;
  legend: string;
}) {
  const [kind, setKind] = useState<CredentialKind>(initialKind);
  const id = useId();
  return (
    <fieldset className="space-y-3">
      <legend className="mb-1 text-xs font-medium text-zinc-700">{legend}</legend>
      <div className="flex gap-4">
        {(['password', 'private_key'] as const).map((k) => (
          <label key={k} className="flex items-center gap-1.5 text-[13px] text-zinc-800" htmlFor={`${id}-${k}`}>
            <input
              type="radio"
              id={`${id}-${k}`}
              name="kind"
              value={k}
              checked={kind === k}
              onChange={() => setKind(k)}
              className="accent-zinc-900"
            />
            {k === 'password' ? 'Log in with a password' : 'Log in with a private key'}
          </label>
        ))}
      </div>
      {kind === 'password' ? (
        <Field label="Password" error={issues.password}>
          {(p) => <Input {...p} name="password" type="password" autoComplete="new-password" maxLength={1024} />}
        </Field>
      ) : (
        <>
          <Field label="Private key" error={issues.privateKey} hint="OpenSSH, PEM or PuTTY format; checked when saved.">
            {(p) => (
              <Textarea
                {...p}
                name="privateKey"
                rows={8}
                spellCheck={false}
                autoComplete="off"
                placeholder="-----BEGIN OPENSSH PRIVATE KEY-----"
              />
            )}
          </Field>
          <Field label="Passphrase (optional)" error={issues.passphrase}>
            {(p) => <Input {...p} name="passphrase" type="password" autoComplete="new-password" maxLength={1024} />}
          </Field>
        </>
      )}
    </fieldset>
  );
}

/** Name, description and username: what a credential shows, all of it but the secret. */
export function CredentialFields({
  values,
  issues,
}: {
  values?: { name: string; description: string; username: string } | undefined;
  issues: Record<string, string>;
}) {
  return (
    <>
      <div className="grid gap-3 sm:grid-cols-2">
        <Field label="Name" error={issues.name}>
          {(p) => <Input {...p} name="name" defaultValue={values?.name ?? ''} maxLength={200} required />}
        </Field>
        <Field label="Username" error={issues.username} hint="user, DOMAIN\user or user@domain">
          {(p) => (
            <Input
              {...p}
              name="username"
              defaultValue={values?.username ?? ''}
              maxLength={256}
              autoComplete="off"
              spellCheck={false}
              required
            />
          )}
        </Field>
      </div>
      <Field label="Description" error={issues.description}>
        {(p) => <Textarea {...p} name="description" rows={2} defaultValue={values?.description ?? ''} className="font-sans text-[13px]" />}
      </Field>
    </>
  );
}

export type CredentialChoice = { id: string; name: string; username: string; kind: CredentialKind };

function Checkbox({
  name,
  label,
  checked,
  onChange,
  hint,
  error,
}: {
  name: string;
  label: string;
  checked: boolean;
  onChange: (v: boolean) => void;
  hint?: string;
  error?: string | undefined;
}) {
  const id = useId();
  return (
    <div>
      <label htmlFor={id} className="flex items-center gap-2 text-[13px] text-zinc-800">
        <input
          type="checkbox"
          id={id}
          name={name}
          value="true"
          checked={checked}
          onChange={(e) => onChange(e.target.checked)}
          aria-invalid={error ? true : undefined}
          className="size-4 accent-zinc-900"
        />
        {label}
      </label>
      {error ? (
        <p className="mt-0.5 pl-6 text-xs text-red-600">{error}</p>
      ) : hint ? (
        <p className="mt-0.5 pl-6 text-xs text-zinc-500">{hint}</p>
      ) : null}
    </div>
  );
}

/**
 * The target form. Create: the protocol switch, then its fields. Edit: the protocol and OS family as they are (the API
 * changes neither), the host key field pins another key, the CA field replaces the kept certificates.
 */
export function TargetForm({
  mode,
  initial,
  credentials,
  issues = {},
  formError,
  pinnedHostKey,
  hasCa = false,
  cancelTo,
}: {
  mode: 'create' | 'edit';
  initial: TargetFormValues;
  credentials: CredentialChoice[];
  issues?: Record<string, string>;
  formError?: string | undefined;
  pinnedHostKey?: string | null;
  hasCa?: boolean;
  cancelTo: string;
}) {
  const navigation = useNavigation();
  const busy = navigation.state === 'submitting' && (navigation.formData?.get('intent') ?? 'save') === 'save';
  const [protocol, setProtocol] = useState<AgentlessProtocol>(initial.protocol);
  const [port, setPort] = useState(initial.port);
  const [https, setHttps] = useState(initial.https);
  const [auth, setAuth] = useState<WinRmAuth>(initial.auth);
  const [verifyTls, setVerifyTls] = useState(initial.verifyTls);
  const [allowBasic, setAllowBasic] = useState(initial.allowBasicOverHttp);
  const [removeCa, setRemoveCa] = useState(initial.removeCa);
  const warnings = targetWarnings({ protocol, https, auth, verifyTls });
  const protocolId = useId();

  const switchProtocol = (p: AgentlessProtocol) => {
    setProtocol(p);
    setPort((current) => portAfterSwitch(current, p, https));
  };
  const switchHttps = (on: boolean) => {
    setHttps(on);
    setPort((current) => portAfterSwitch(current, protocol, on));
  };

  return (
    <Form method="post" className="space-y-4" data-testid="target-form" noValidate>
      <input type="hidden" name="intent" value="save" />
      {formError ? <Alert title="The target was not saved">{formError}</Alert> : null}
      <Card title="Connection">
        <div className="space-y-4 p-4">
          {mode === 'create' ? (
            <fieldset>
              <legend className="mb-1 text-xs font-medium text-zinc-700">Protocol</legend>
              <div className="flex gap-2">
                {(['ssh', 'winrm'] as const).map((p) => (
                  <label
                    key={p}
                    htmlFor={`${protocolId}-${p}`}
                    className={cx(
                      'flex cursor-pointer items-center gap-2 rounded-md px-3 py-1.5 text-[13px] ring-1 ring-inset',
                      protocol === p ? 'bg-zinc-900 text-white ring-zinc-900' : 'bg-white text-zinc-700 ring-zinc-300',
                    )}
                  >
                    <input
                      type="radio"
                      id={`${protocolId}-${p}`}
                      name="protocol"
                      value={p}
                      checked={protocol === p}
                      onChange={() => switchProtocol(p)}
                      className="sr-only"
                    />
                    {p === 'ssh' ? 'SSH (Linux, macOS, Unix)' : 'WinRM (Windows)'}
                  </label>
                ))}
              </div>
            </fieldset>
          ) : (
            <input type="hidden" name="protocol" value={protocol} />
          )}
          <div className="grid gap-3 sm:grid-cols-2">
            <Field label="Name" error={issues.name} hint="Its device name in the device list, groups and runs.">
              {(p) => <Input {...p} name="name" defaultValue={initial.name} maxLength={200} required />}
            </Field>
            <Field label="Credential" error={issues.credentialId}>
              {(p) =>
                credentials.length === 0 ? (
                  <p className="text-xs text-zinc-600" id={p.id}>
                    No credentials yet.{' '}
                    <Link to="/agentless/credentials/new" className="font-medium underline">
                      Add one
                    </Link>{' '}
                    first.
                  </p>
                ) : (
                  <Select {...p} name="credentialId" defaultValue={initial.credentialId}>
                    <option value="">Choose a credential…</option>
                    {credentials.map((c) => (
                      <option key={c.id} value={c.id}>
                        {c.name} ({c.username}, {credentialKindLabel[c.kind].toLowerCase()})
                      </option>
                    ))}
                  </Select>
                )
              }
            </Field>
          </div>
          <div className="grid gap-3 sm:grid-cols-[minmax(0,1fr)_120px_140px]">
            <Field label="Host" error={issues.host} hint="A DNS name or an IP address.">
              {(p) => <Input {...p} name="host" defaultValue={initial.host} maxLength={253} spellCheck={false} required />}
            </Field>
            <Field label="Port" error={issues.port}>
              {(p) => (
                <Input
                  {...p}
                  name="port"
                  value={port}
                  onChange={(e) => setPort(e.target.value)}
                  inputMode="numeric"
                  type="number"
                  min={1}
                  max={65535}
                />
              )}
            </Field>
            <Field label="Connect timeout (s)" error={issues.connectTimeoutSeconds}>
              {(p) => (
                <Input
                  {...p}
                  name="connectTimeoutSeconds"
                  defaultValue={initial.connectTimeoutSeconds}
                  inputMode="numeric"
                  type="number"
                  min={1}
                  max={300}
                />
              )}
            </Field>
          </div>
        </div>
      </Card>

      {protocol === 'ssh' ? (
        <Card title="SSH">
          <div className="space-y-3 p-4" data-testid="ssh-settings">
            {mode === 'create' ? (
              <Field label="OS family" error={issues.osFamily}>
                {(p) => (
                  <Select {...p} name="osFamily" defaultValue={initial.osFamily} className="w-60">
                    {sshOsFamilies.map((o) => (
                      <option key={o.value} value={o.value}>
                        {o.label}
                      </option>
                    ))}
                  </Select>
                )}
              </Field>
            ) : null}
            <Field
              label={mode === 'create' ? 'Host key (optional)' : 'Pin another host key'}
              error={issues.hostKey}
              hint={
                mode === 'create' ? (
                  <>
                    As <code>ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</code> prints it. Without one, the first connection pins the
                    key it sees.
                  </>
                ) : pinnedHostKey ? (
                  'Leave empty to keep the pinned key. Check a new key on the machine itself before you pin it.'
                ) : (
                  'Leave empty and the next connection pins the key it sees.'
                )
              }
            >
              {(p) => (
                <Input
                  {...p}
                  name="hostKey"
                  defaultValue={initial.hostKey}
                  placeholder="SHA256:…"
                  spellCheck={false}
                  autoComplete="off"
                  className="font-mono"
                />
              )}
            </Field>
          </div>
        </Card>
      ) : (
        <Card title="WinRM">
          <div className="space-y-3 p-4" data-testid="winrm-settings">
            <Checkbox
              name="https"
              label="HTTPS"
              checked={https}
              onChange={switchHttps}
              error={issues.https}
              hint="The WinRM listener on port 5986. Without it: plain HTTP on 5985."
            />
            <Field label="Authentication" error={issues.auth}>
              {(p) => (
                <Select
                  {...p}
                  name="auth"
                  value={auth}
                  onChange={(e) => setAuth(e.target.value === 'basic' ? 'basic' : 'ntlm')}
                  className="w-60"
                >
                  <option value="ntlm">NTLM (Negotiate)</option>
                  <option value="basic">Basic (local accounts)</option>
                </Select>
              )}
            </Field>
            {https ? (
              <>
                <Checkbox
                  name="verifyTls"
                  label="Verify the TLS certificate"
                  checked={verifyTls}
                  onChange={setVerifyTls}
                  error={issues.verifyTls}
                  hint="Against the system's CAs and the CA certificates below."
                />
                <Field
                  label={mode === 'edit' && hasCa ? 'Replace the CA certificates' : 'CA certificates (optional)'}
                  error={issues.ca}
                  hint={
                    mode === 'edit' && hasCa
                      ? 'Certificates are kept for this target; leave empty to keep them.'
                      : "PEM: the listener's own certificate if it is self-signed, or its CA's."
                  }
                >
                  {(p) => (
                    <Textarea
                      {...p}
                      name="ca"
                      rows={4}
                      defaultValue={initial.ca}
                      spellCheck={false}
                      placeholder="-----BEGIN CERTIFICATE-----"
                    />
                  )}
                </Field>
                {mode === 'edit' && hasCa ? (
                  <Checkbox name="removeCa" label="Remove the kept CA certificates" checked={removeCa} onChange={setRemoveCa} />
                ) : null}
              </>
            ) : (
              // Verification means nothing over HTTP: keep what is set, so that turning HTTPS back on restores it.
              <input type="hidden" name="verifyTls" value={verifyTls ? 'true' : ''} />
            )}
            {!https && auth === 'basic' ? (
              <Checkbox
                name="allowBasicOverHttp"
                label="Allow Basic authentication over HTTP"
                checked={allowBasic}
                onChange={setAllowBasic}
                error={issues.allowBasicOverHttp}
              />
            ) : null}
            {warnings.map((w) => (
              <div key={w.key} data-testid="agentless-warning" data-warning={w.key}>
                <Alert tone={w.tone} title={w.title}>
                  {w.text}
                </Alert>
              </div>
            ))}
          </div>
        </Card>
      )}

      <div className="flex items-center justify-end gap-2">
        <Link to={cancelTo} className={buttonClass('ghost')}>
          Cancel
        </Link>
        <Button type="submit" variant="primary" disabled={busy}>
          {busy ? 'Saving…' : mode === 'create' ? 'Add target' : 'Save target'}
        </Button>
      </div>
    </Form>
  );
}

/** A destructive action behind a second click: the button, then "Confirm …" and Cancel. */
export function ConfirmAction({
  intent,
  label,
  confirmLabel,
  question,
  action,
  variant = 'danger',
  size = 'md',
}: {
  intent: string;
  label: string;
  confirmLabel: string;
  question: string;
  /** Where it posts (the current route's action when not given). */
  action?: string;
  variant?: 'danger' | 'secondary';
  size?: 'sm' | 'md';
}) {
  const [confirming, setConfirming] = useState(false);
  const navigation = useNavigation();
  const busy = navigation.state === 'submitting' && navigation.formData?.get('intent') === intent;
  if (!confirming)
    return (
      <Button variant={variant} size={size} onClick={() => setConfirming(true)}>
        {label}
      </Button>
    );
  return (
    <Form method="post" action={action} className="flex flex-wrap items-center justify-end gap-2" role="alertdialog" aria-label={label}>
      <span className="text-xs text-zinc-600">{question}</span>
      <Button type="submit" name="intent" value={intent} variant="danger" size={size} disabled={busy}>
        {confirmLabel}
      </Button>
      <Button variant="ghost" size={size} onClick={() => setConfirming(false)}>
        Cancel
      </Button>
    </Form>
  );
}
