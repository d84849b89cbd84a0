/**
 * Agentless targets and their credentials (ADR 21) as the console shows and asks for them: the ports a protocol
 * starts from, a pinned host key in short, the target form's values ⇄ the API's create and change bodies (a change
 * sends only what differs from the target as it is now), the security warnings of a WinRM setting, a credential's
 * secret from its form, and where the API's issues (`port`, `secret.privateKey`…) belong on the forms.
 *
 * Pure and browser-safe: only *types* come from the contracts.
 */
import type { components } from '@opsconductor/contracts/openapi-types';

type Schemas = components['schemas'];
export type AgentlessTarget = Schemas['AgentlessTarget'];
export type AgentlessCredential = Schemas['AgentlessCredential'];
export type CreateTargetBody = Schemas['CreateAgentlessTarget'];
export type UpdateTargetBody = Schemas['UpdateAgentlessTarget'];
export type CredentialSecret = Schemas['CreateAgentlessCredential']['secret'];
export type AgentlessProtocol = AgentlessTarget['protocol'];
export type CredentialKind = AgentlessCredential['kind'];
export type WinRmAuth = 'ntlm' | 'basic';
export type SshOsFamily = 'linux' | 'macos' | 'other';

export const protocolLabel: Record<AgentlessProtocol, string> = { ssh: 'SSH', winrm: 'WinRM' };
export const credentialKindLabel: Record<CredentialKind, string> = { password: 'Password', private_key: 'Private key' };
export const sshOsFamilies: ReadonlyArray<{ value: SshOsFamily; label: string }> = [
  { value: 'linux', label: 'Linux' },
  { value: 'macos', label: 'macOS' },
  { value: 'other', label: 'Other (POSIX /bin/sh)' },
];

// ---- ports and addresses ---------------------------------------------------------------------------------

/** SSH 22; WinRM 5986 over HTTPS, 5985 over HTTP. */
export function defaultPort(protocol: AgentlessProtocol, https = true): number {
  if (protocol === 'ssh') return 22;
  return https ? 5986 : 5985;
}

const DEFAULT_PORTS = new Set(['', '22', '5985', '5986']);

/** The port field after the protocol or HTTPS changed: the new default, unless the port was set by hand. */
export function portAfterSwitch(current: string, protocol: AgentlessProtocol, https: boolean): string {
  return DEFAULT_PORTS.has(current.trim()) ? String(defaultPort(protocol, https)) : current;
}

/** `host:port`, an IPv6 address in brackets. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** `SHA256:AbCdEfGh…wxYz`: enough to tell two keys apart at a glance; the whole one goes in the tooltip and the copy. */
export function shortFingerprint(fingerprint: string): string {
  const m = /^(SHA256:)(.+)$/.exec(fingerprint);
  if (!m || m[2]!.length <= 16) return fingerprint;
  return `${m[1]}${m[2]!.slice(0, 8)}…${m[2]!.slice(-4)}`;
}

// ---- the API's issues -------------------------------------------------------------------------------------

/** The form field an issue's path belongs to: `secret.privateKey` → `privateKey`, `port` → `port`, `body.host` → `host`. */
export function issueField(path: string): string {
  const parts = path.replace(/^(body|query|params)[./]/, '').split(/[./[]/);
  if (parts[0] === 'secret' && parts[1]) return parts[1];
  return parts[0] || '_form';
}

/** The first message per form field; several at one field are joined. */
export function fieldIssues(errors: ReadonlyArray<{ path: string; message: string }>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of errors) {
    const field = issueField(e.path);
    out[field] = out[field] ? `${out[field]}; ${e.message}` : e.message;
  }
  return out;
}

// ---- the target form ----------------------------------------------------------------------------------------

/** What the target form holds (all text, as posted), never a secret. */
export type TargetFormValues = {
  protocol: AgentlessProtocol;
  name: string;
  host: string;
  port: string;
  credentialId: string;
  connectTimeoutSeconds: string;
  /** Create: the key to pin (empty: pin on first use). Edit: another key to pin (empty: keep the pinned one). */
  hostKey: string;
  osFamily: SshOsFamily;
  https: boolean;
  auth: WinRmAuth;
  /** Create: the CA certificates. Edit: new ones to replace what is kept (empty: keep). */
  ca: string;
  removeCa: boolean;
  verifyTls: boolean;
  allowBasicOverHttp: boolean;
};

export const newTargetValues: TargetFormValues = {
  protocol: 'ssh',
  name: '',
  host: '',
  port: '22',
  credentialId: '',
  connectTimeoutSeconds: '20',
  hostKey: '',
  osFamily: 'linux',
  https: true,
  auth: 'ntlm',
  ca: '',
  removeCa: false,
  verifyTls: true,
  allowBasicOverHttp: false,
};

/** A target as the edit form's first values. */
export function targetValues(t: AgentlessTarget): TargetFormValues {
  const osFamily = sshOsFamilies.some((o) => o.value === t.osFamily) ? (t.osFamily as SshOsFamily) : 'other';
  return {
    protocol: t.protocol,
    name: t.name,
    host: t.host,
    port: String(t.port),
    credentialId: t.credential.id,
    connectTimeoutSeconds: String(t.connectTimeoutSeconds),
    hostKey: '',
    osFamily,
    https: t.winrm?.https ?? true,
    auth: t.winrm?.auth ?? 'ntlm',
    ca: '',
    removeCa: false,
    verifyTls: t.winrm?.verifyTls ?? true,
    allowBasicOverHttp: t.winrm?.allowBasicOverHttp ?? false,
  };
}

const text = (get: (name: string) => unknown, name: string, max: number): string => {
  const v = get(name);
  return typeof v === 'string' ? v.slice(0, max) : '';
};
const checked = (get: (name: string) => unknown, name: string): boolean => get(name) === 'true' || get(name) === 'on';
/** Textareas post CRLF; keys and certificates want LF. */
const lf = (s: string) => s.replace(/\r\n?/g, '\n');

/** The posted target form. `get` is `FormData.get`. */
export function readTargetForm(get: (name: string) => unknown): TargetFormValues {
  const osFamily = text(get, 'osFamily', 10);
  return {
    protocol: get('protocol') === 'winrm' ? 'winrm' : 'ssh',
    name: text(get, 'name', 200),
    host: text(get, 'host', 253),
    port: text(get, 'port', 10),
    credentialId: text(get, 'credentialId', 36),
    connectTimeoutSeconds: text(get, 'connectTimeoutSeconds', 10),
    hostKey: text(get, 'hostKey', 100),
    osFamily: sshOsFamilies.some((o) => o.value === osFamily) ? (osFamily as SshOsFamily) : 'linux',
    https: checked(get, 'https'),
    auth: get('auth') === 'basic' ? 'basic' : 'ntlm',
    ca: lf(text(get, 'ca', 64 * 1024)),
    removeCa: checked(get, 'removeCa'),
    verifyTls: checked(get, 'verifyTls'),
    allowBasicOverHttp: checked(get, 'allowBasicOverHttp'),
  };
}

type Checked<T> = { ok: true; body: T } | { ok: false; issues: Record<string, string> };

/** A whole number in bounds from a field, or a message; empty is `fallback` (undefined: required). */
function wholeNumber(
  value: string,
  min: number,
  max: number,
  fallback?: number,
): { ok: true; value: number } | { ok: false; message: string } {
  const s = value.trim();
  if (s === '') return fallback === undefined ? { ok: false, message: 'Enter a number' } : { ok: true, value: fallback };
  if (!/^\d+$/.test(s)) return { ok: false, message: 'Whole numbers only' };
  const n = Number(s);
  if (n < min || n > max) return { ok: false, message: `From ${min} to ${max.toLocaleString('en-US')}` };
  return { ok: true, value: n };
}

/** What the console can tell before asking the API: what is missing, and numbers that are no numbers. */
function commonFields(v: TargetFormValues) {
  const issues: Record<string, string> = {};
  const name = v.name.trim();
  const host = v.host.trim();
  if (!name) issues.name = 'Give the target a name';
  if (!host) issues.host = 'Enter a host name or an IP address';
  if (!v.credentialId) issues.credentialId = 'Choose the credential it logs in with';
  const port = wholeNumber(v.port, 1, 65_535, defaultPort(v.protocol, v.https));
  if (!port.ok) issues.port = port.message;
  const timeout = wholeNumber(v.connectTimeoutSeconds, 1, 300, 20);
  if (!timeout.ok) issues.connectTimeoutSeconds = timeout.message;
  return {
    issues,
    name,
    host: host.replace(/^\[(.*)\]$/, '$1'),
    port: port.ok ? port.value : 0,
    connectTimeoutSeconds: timeout.ok ? timeout.value : 0,
  };
}

/** The create body of the posted form. */
export function createTargetBody(v: TargetFormValues): Checked<CreateTargetBody> {
  const c = commonFields(v);
  if (Object.keys(c.issues).length) return { ok: false, issues: c.issues };
  const common = { name: c.name, host: c.host, port: c.port, credentialId: v.credentialId, connectTimeoutSeconds: c.connectTimeoutSeconds };
  if (v.protocol === 'ssh') {
    const hostKey = v.hostKey.trim();
    return { ok: true, body: { protocol: 'ssh', ...common, osFamily: v.osFamily, ...(hostKey ? { hostKey } : {}) } };
  }
  const ca = v.ca.trim();
  return {
    ok: true,
    body: {
      protocol: 'winrm',
      ...common,
      https: v.https,
      auth: v.auth,
      verifyTls: v.verifyTls,
      // Only where it means something: the API refuses Basic over HTTP without it, and ignores it otherwise.
      allowBasicOverHttp: !v.https && v.auth === 'basic' && v.allowBasicOverHttp,
      ...(ca ? { ca: `${ca}\n` } : {}),
    },
  };
}

/**
 * The change body of the posted form: only what differs from the target as it is now, so that a save never undoes
 * what changed meanwhile (a host key pinned on first use, someone else's edit of another field). Its protocol and OS
 * family stay as they are (the API changes neither).
 */
export function targetChanges(t: AgentlessTarget, v: TargetFormValues): Checked<UpdateTargetBody> {
  const c = commonFields({ ...v, protocol: t.protocol });
  if (Object.keys(c.issues).length) return { ok: false, issues: c.issues };
  const body: UpdateTargetBody = {};
  if (c.name !== t.name) body.name = c.name;
  if (c.host !== t.host) body.host = c.host;
  if (c.port !== t.port) body.port = c.port;
  if (v.credentialId !== t.credential.id) body.credentialId = v.credentialId;
  if (c.connectTimeoutSeconds !== t.connectTimeoutSeconds) body.connectTimeoutSeconds = c.connectTimeoutSeconds;
  if (t.ssh) {
    const hostKey = v.hostKey.trim();
    if (hostKey && hostKey !== t.ssh.hostKey) body.hostKey = hostKey;
  }
  if (t.winrm) {
    if (v.https !== t.winrm.https) body.https = v.https;
    if (v.auth !== t.winrm.auth) body.auth = v.auth;
    if (v.verifyTls !== t.winrm.verifyTls) body.verifyTls = v.verifyTls;
    const allow = !v.https && v.auth === 'basic' && v.allowBasicOverHttp;
    if (allow !== t.winrm.allowBasicOverHttp) body.allowBasicOverHttp = allow;
    const ca = v.ca.trim();
    if (ca) body.ca = `${ca}\n`;
    else if (v.removeCa && t.winrm.hasCa) body.ca = null;
  }
  return { ok: true, body };
}

export type TargetWarning = {
  key: 'basic_over_http' | 'ntlm_over_http' | 'tls_unverified';
  tone: 'error' | 'warning';
  title: string;
  text: string;
};

/** What a WinRM setting gives away, said where it is set (docs/agentless.md, "Security rules the client enforces"). */
export function targetWarnings(v: Pick<TargetFormValues, 'protocol' | 'https' | 'auth' | 'verifyTls'>): TargetWarning[] {
  if (v.protocol !== 'winrm') return [];
  const out: TargetWarning[] = [];
  if (!v.https && v.auth === 'basic')
    out.push({
      key: 'basic_over_http',
      tone: 'warning',
      title: 'Basic authentication over HTTP sends the password in the clear',
      text: 'Anyone on the network path can read it. The API refuses this unless you allow it below; do that only on a network that is yours alone (WinRM must also allow it: AllowUnencrypted=true). Prefer HTTPS.',
    });
  if (!v.https && v.auth === 'ntlm')
    out.push({
      key: 'ntlm_over_http',
      tone: 'error',
      title: 'NTLM over HTTP is refused',
      text: 'WinRM wants NTLM traffic on HTTP sealed, which this client does not do. Use HTTPS (port 5986).',
    });
  if (v.https && !v.verifyTls)
    out.push({
      key: 'tls_unverified',
      tone: 'warning',
      title: 'TLS certificate verification is off',
      text: 'Anyone who can intercept the connection can pose as this target and receive the password. For a self-signed listener certificate, give that certificate as CA certificates instead.',
    });
  return out;
}

// ---- the credential form --------------------------------------------------------------------------------------

export type CredentialFormValues = { name: string; description: string; username: string; kind: CredentialKind };

export function readCredentialFields(get: (name: string) => unknown): CredentialFormValues {
  return {
    name: text(get, 'name', 200),
    description: lf(text(get, 'description', 2000)),
    username: text(get, 'username', 256),
    kind: get('kind') === 'private_key' ? 'private_key' : 'password',
  };
}

/** Name and username are required; the rest is the API's to check. */
export function credentialFieldIssues(v: CredentialFormValues): Record<string, string> {
  const issues: Record<string, string> = {};
  if (!v.name.trim()) issues.name = 'Give the credential a name';
  if (!v.username.trim()) issues.username = 'Enter the account to log in as';
  return issues;
}

/** The secret of the posted form: a password as typed (spaces and all), or a private key with its passphrase. */
export function readCredentialSecret(get: (name: string) => unknown, kind: CredentialKind): Checked<CredentialSecret> {
  if (kind === 'password') {
    const password = text(get, 'password', 1024);
    return password ? { ok: true, body: { kind, password } } : { ok: false, issues: { password: 'Enter the password' } };
  }
  const privateKey = lf(text(get, 'privateKey', 16 * 1024)).trim();
  const passphrase = text(get, 'passphrase', 1024);
  if (!privateKey) return { ok: false, issues: { privateKey: 'Paste the private key' } };
  return { ok: true, body: { kind, privateKey: `${privateKey}\n`, ...(passphrase ? { passphrase } : {}) } };
}
