import { describe, expect, it } from 'vitest';
import {
  createTargetBody,
  fieldIssues,
  hostPort,
  newTargetValues,
  portAfterSwitch,
  readCredentialSecret,
  readTargetForm,
  shortFingerprint,
  targetChanges,
  targetValues,
  targetWarnings,
  type AgentlessTarget,
} from './agentless';

const KEY = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const CREDENTIAL = '7d4c1a8e-9c61-4c1e-9f0b-3c2f4a5b6c7d';
const OTHER_CREDENTIAL = '0b8f6e52-1d1f-4a55-8d0e-2a0a3b4c5d6e';

const sshTarget: AgentlessTarget = {
  id: 'f0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d',
  name: 'db-1',
  protocol: 'ssh',
  host: '10.0.0.5',
  port: 22,
  osFamily: 'linux',
  credential: { id: CREDENTIAL, name: 'root key', username: 'root' },
  connectTimeoutSeconds: 20,
  ssh: { hostKey: KEY, hostKeyPinnedAt: '2025-01-01T00:00:00.000Z' },
  winrm: null,
  commandKinds: ['shell', 'script', 'file.fetch'],
  lastConnectedAt: null,
  lastError: null,
  lastErrorAt: null,
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:00.000Z',
};
const winrmTarget: AgentlessTarget = {
  ...sshTarget,
  protocol: 'winrm',
  osFamily: 'windows',
  port: 5986,
  ssh: null,
  winrm: { https: true, auth: 'ntlm', hasCa: true, verifyTls: true, allowBasicOverHttp: false, endpoint: 'https://10.0.0.5:5986/wsman' },
};

const form = (fields: Record<string, string>) => (name: string) => fields[name] ?? null;

describe('ports and host keys', () => {
  it('moves a default port along with the protocol and HTTPS, and keeps one set by hand', () => {
    expect(portAfterSwitch('22', 'winrm', true)).toBe('5986');
    expect(portAfterSwitch('5986', 'winrm', false)).toBe('5985');
    expect(portAfterSwitch('5985', 'ssh', false)).toBe('22');
    expect(portAfterSwitch('', 'winrm', true)).toBe('5986');
    expect(portAfterSwitch('2222', 'winrm', true)).toBe('2222');
  });

  it('shortens a fingerprint to its start and end, and brackets an IPv6 host', () => {
    expect(shortFingerprint(KEY)).toBe('SHA256:uNiVztks…tD2s');
    expect(shortFingerprint('SHA256:short')).toBe('SHA256:short');
    expect(hostPort('::1', 22)).toBe('[::1]:22');
    expect(hostPort('db.example.com', 2222)).toBe('db.example.com:2222');
  });
});

describe('the target form', () => {
  it('creates an SSH target with the default port and no host key (pinned on first use)', () => {
    const v = readTargetForm(form({ protocol: 'ssh', name: ' db-1 ', host: 'db.example.com', port: '', credentialId: CREDENTIAL }));
    expect(createTargetBody(v)).toEqual({
      ok: true,
      body: {
        protocol: 'ssh',
        name: 'db-1',
        host: 'db.example.com',
        port: 22,
        credentialId: CREDENTIAL,
        connectTimeoutSeconds: 20,
        osFamily: 'linux',
      },
    });
  });

  it('creates a WinRM target: CA certificates with LF line ends, Basic over HTTP allowed only where it applies', () => {
    const body = (fields: Record<string, string>) =>
      createTargetBody(readTargetForm(form({ protocol: 'winrm', name: 'w', host: 'w', credentialId: CREDENTIAL, ...fields })));
    expect(
      body({ https: 'true', verifyTls: 'true', allowBasicOverHttp: 'true', ca: '-----BEGIN CERTIFICATE-----\r\nAA\r\n' }),
    ).toMatchObject({
      ok: true,
      body: {
        protocol: 'winrm',
        port: 5986,
        https: true,
        auth: 'ntlm',
        verifyTls: true,
        allowBasicOverHttp: false,
        ca: '-----BEGIN CERTIFICATE-----\nAA\n',
      },
    });
    expect(body({ auth: 'basic', allowBasicOverHttp: 'on' })).toMatchObject({
      ok: true,
      body: { port: 5985, https: false, auth: 'basic', verifyTls: false, allowBasicOverHttp: true },
    });
  });

  it('says what is missing or no number before asking the API', () => {
    const result = createTargetBody({ ...newTargetValues, port: '22a', connectTimeoutSeconds: '0' });
    expect(result).toEqual({
      ok: false,
      issues: {
        name: 'Give the target a name',
        host: 'Enter a host name or an IP address',
        credentialId: 'Choose the credential it logs in with',
        port: 'Whole numbers only',
        connectTimeoutSeconds: 'From 1 to 300',
      },
    });
  });

  it('changes only what differs from the target now; an empty host key keeps the pinned one', () => {
    const same = targetValues(sshTarget);
    expect(targetChanges(sshTarget, same)).toEqual({ ok: true, body: {} });
    expect(targetChanges(sshTarget, { ...same, name: 'db-2', port: '2222', credentialId: OTHER_CREDENTIAL })).toEqual({
      ok: true,
      body: { name: 'db-2', port: 2222, credentialId: OTHER_CREDENTIAL },
    });
    const other = 'SHA256:AAAAztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
    expect(targetChanges(sshTarget, { ...same, hostKey: other })).toEqual({ ok: true, body: { hostKey: other } });
    expect(targetChanges(sshTarget, { ...same, hostKey: KEY })).toEqual({ ok: true, body: {} });
    // WinRM settings of an SSH target are never sent (the API refuses them).
    expect(targetChanges(sshTarget, { ...same, https: false, verifyTls: false })).toEqual({ ok: true, body: {} });
  });

  it('changes WinRM settings and keeps, replaces or removes its CA certificates', () => {
    const same = targetValues(winrmTarget);
    expect(targetChanges(winrmTarget, same)).toEqual({ ok: true, body: {} });
    expect(targetChanges(winrmTarget, { ...same, verifyTls: false, hostKey: KEY })).toEqual({ ok: true, body: { verifyTls: false } });
    expect(targetChanges(winrmTarget, { ...same, removeCa: true })).toEqual({ ok: true, body: { ca: null } });
    expect(targetChanges(winrmTarget, { ...same, ca: 'PEM', removeCa: true })).toEqual({ ok: true, body: { ca: 'PEM\n' } });
    expect(targetChanges(winrmTarget, { ...same, https: false, auth: 'basic', allowBasicOverHttp: true })).toEqual({
      ok: true,
      body: { https: false, auth: 'basic', allowBasicOverHttp: true },
    });
  });

  it('warns of Basic over HTTP, NTLM over HTTP and TLS verification turned off, for WinRM only', () => {
    const keys = (v: Parameters<typeof targetWarnings>[0]) => targetWarnings(v).map((w) => w.key);
    expect(keys({ protocol: 'winrm', https: true, auth: 'ntlm', verifyTls: true })).toEqual([]);
    expect(keys({ protocol: 'winrm', https: false, auth: 'basic', verifyTls: true })).toEqual(['basic_over_http']);
    expect(keys({ protocol: 'winrm', https: false, auth: 'ntlm', verifyTls: true })).toEqual(['ntlm_over_http']);
    expect(keys({ protocol: 'winrm', https: true, auth: 'basic', verifyTls: false })).toEqual(['tls_unverified']);
    expect(keys({ protocol: 'ssh', https: false, auth: 'basic', verifyTls: false })).toEqual([]);
  });
});

describe('credentials and issues', () => {
  it('takes a password as typed and a private key with LF line ends and its passphrase if given', () => {
    expect(readCredentialSecret(form({ password: ' pass word ' }), 'password')).toEqual({
      ok: true,
      body: { kind: 'password', password: ' pass word ' },
    });
    expect(readCredentialSecret(form({ privateKey: '-----BEGIN KEY-----\r\nAA\r\n-----END KEY-----\r\n' }), 'private_key')).toEqual({
      ok: true,
      body: { kind: 'private_key', privateKey: '-----BEGIN KEY-----\nAA\n-----END KEY-----\n' },
    });
    expect(readCredentialSecret(form({ privateKey: 'K', passphrase: 'p' }), 'private_key')).toMatchObject({ body: { passphrase: 'p' } });
    expect(readCredentialSecret(form({}), 'password')).toEqual({ ok: false, issues: { password: 'Enter the password' } });
    expect(readCredentialSecret(form({ passphrase: 'p' }), 'private_key')).toEqual({
      ok: false,
      issues: { privateKey: 'Paste the private key' },
    });
  });

  it("puts the API's issues at their fields, a secret's at the secret's own", () => {
    expect(
      fieldIssues([
        { path: 'secret.privateKey', message: 'cannot be parsed' },
        { path: 'body.port', message: 'too big' },
        { path: 'hostKey', message: 'must look like SHA256' },
        { path: 'hostKey', message: 'again' },
        { path: '', message: 'whole body' },
      ]),
    ).toEqual({ privateKey: 'cannot be parsed', port: 'too big', hostKey: 'must look like SHA256; again', _form: 'whole body' });
  });
});
