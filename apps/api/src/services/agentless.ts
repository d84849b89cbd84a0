/**
 * Agentless targets and credentials (ADR 21). A target is a device row (transport `ssh` or `winrm`, a secret nobody
 * knows, the capabilities the relay offers) plus its connection settings; a credential is a name, a user name and a
 * secret in the secret store (owner `agentless_credential`), written on creation and rotation and never returned.
 * Every change is audited in its own transaction.
 */
import { randomUUID } from 'node:crypto';
import { checkPrivateKey } from '@opsconductor/agentless';
import {
  agentlessCapabilities,
  agentlessCommandKinds,
  type AgentlessCredential,
  type AgentlessCredentialSecret,
  type AgentlessTarget,
  type CreateAgentlessCredentialBody,
  type CreateAgentlessTargetBody,
  type UpdateAgentlessCredentialBody,
  type UpdateAgentlessTargetBody,
} from '@opsconductor/contracts/agentless-api';
import { SecretsUnavailableError, type SecretRef } from '@opsconductor/secrets';
import {
  conflict,
  invalid,
  isUniqueViolation,
  NameTakenError,
  notFound,
  type Origin,
  type UnitOfWork,
  withUnitOfWork,
} from '@opsconductor/unit-of-work';
import type { ApiDeps, AuthUser } from '../context.ts';

export const AGENTLESS_CREDENTIAL_OWNER = 'agentless_credential';
type SecretPurpose = 'password' | 'private_key' | 'passphrase';
const credentialSecret = (id: string, purpose: SecretPurpose): SecretRef => ({
  ownerType: AGENTLESS_CREDENTIAL_OWNER,
  ownerId: id,
  purpose,
});

// --- credentials ------------------------------------------------------------------------------------

interface CredentialRow {
  id: string;
  name: string;
  description: string;
  kind: 'password' | 'private_key';
  username: string;
  has_passphrase: boolean;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  rotated_at: Date;
  target_count: number;
}

const CREDENTIAL_SELECT = `SELECT c.id, c.name, c.description, c.kind, c.username, c.has_passphrase, u.email AS created_by, c.created_at,
         c.updated_at, c.rotated_at, (SELECT count(*)::int FROM agentless_targets t WHERE t.credential_id = c.id) AS target_count
    FROM agentless_credentials c LEFT JOIN users u ON u.id = c.created_by_id`;

function toCredential(r: CredentialRow): AgentlessCredential {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    kind: r.kind,
    username: r.username,
    hasPassphrase: r.has_passphrase,
    targetCount: r.target_count,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    rotatedAt: r.rotated_at.toISOString(),
  };
}

export async function listAgentlessCredentials(deps: ApiDeps): Promise<AgentlessCredential[]> {
  const { rows } = await deps.db.pool.query<CredentialRow>(`${CREDENTIAL_SELECT} ORDER BY lower(c.name)`);
  return rows.map(toCredential);
}

export async function getAgentlessCredential(deps: ApiDeps, id: string): Promise<AgentlessCredential> {
  const { rows } = await deps.db.pool.query<CredentialRow>(`${CREDENTIAL_SELECT} WHERE c.id = $1`, [id]);
  if (!rows[0]) throw notFound('No such credential.');
  return toCredential(rows[0]);
}

/** A private key must parse (with its passphrase, if encrypted) before it is stored: a typo is found now, not at the first run. */
function checkSecret(secret: AgentlessCredentialSecret): void {
  if (secret.kind !== 'private_key') return;
  const problem = checkPrivateKey(secret.privateKey, secret.passphrase);
  if (problem) throw invalid('validation_failed', 'The private key cannot be used.', [{ path: 'secret.privateKey', message: problem }]);
}

function nameTaken(err: unknown, constraint: string, what: string): never {
  if (isUniqueViolation(err, constraint)) throw new NameTakenError('name', `A ${what} with this name exists.`);
  throw err;
}

async function putCredentialSecret(deps: ApiDeps, id: string, secret: AgentlessCredentialSecret, uow: UnitOfWork) {
  await uow.sql.query('DELETE FROM secrets WHERE owner_type = $1 AND owner_id = $2', [AGENTLESS_CREDENTIAL_OWNER, id]);
  if (secret.kind === 'password') await deps.secrets.put(credentialSecret(id, 'password'), secret.password, uow);
  else {
    await deps.secrets.put(credentialSecret(id, 'private_key'), secret.privateKey, uow);
    if (secret.passphrase !== undefined) await deps.secrets.put(credentialSecret(id, 'passphrase'), secret.passphrase, uow);
  }
}

function requireSecretStore(deps: ApiDeps): void {
  if (!deps.secrets.configured) throw new SecretsUnavailableError('Agentless credentials need the secret store (SECRETS_MASTER_KEYS).');
}

export async function createAgentlessCredential(
  deps: ApiDeps,
  user: AuthUser,
  origin: Origin,
  body: CreateAgentlessCredentialBody,
): Promise<AgentlessCredential> {
  requireSecretStore(deps);
  checkSecret(body.secret);
  const id = randomUUID();
  try {
    await withUnitOfWork(deps.db, origin, async (uow) => {
      await uow.sql.query(
        `INSERT INTO agentless_credentials (id, name, description, kind, username, has_passphrase, created_by_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          id,
          body.name,
          body.description,
          body.secret.kind,
          body.username,
          body.secret.kind === 'private_key' && !!body.secret.passphrase,
          user.id,
        ],
      );
      await putCredentialSecret(deps, id, body.secret, uow);
      await uow.audit({
        action: 'agentless_credential.create',
        targetType: 'agentless_credential',
        targetId: id,
        details: { name: body.name, kind: body.secret.kind, username: body.username },
      });
    });
  } catch (err) {
    nameTaken(err, 'agentless_credentials_name_key', 'credential');
  }
  return getAgentlessCredential(deps, id);
}

export async function updateAgentlessCredential(
  deps: ApiDeps,
  origin: Origin,
  id: string,
  body: UpdateAgentlessCredentialBody,
): Promise<AgentlessCredential> {
  const before = await getAgentlessCredential(deps, id);
  if (body.secret) {
    requireSecretStore(deps);
    checkSecret(body.secret);
  }
  try {
    await withUnitOfWork(deps.db, origin, async (uow) => {
      const secret = body.secret;
      await uow.sql.query(
        `UPDATE agentless_credentials SET name = coalesce($2, name), description = coalesce($3, description), username = coalesce($4, username),
                kind = coalesce($5::"AgentlessCredentialKind", kind), has_passphrase = coalesce($6, has_passphrase),
                rotated_at = CASE WHEN $5 IS NULL THEN rotated_at ELSE now() END, updated_at = now()
          WHERE id = $1`,
        [
          id,
          body.name ?? null,
          body.description ?? null,
          body.username ?? null,
          secret?.kind ?? null,
          secret ? secret.kind === 'private_key' && !!secret.passphrase : null,
        ],
      );
      if (secret) await putCredentialSecret(deps, id, secret, uow);
      const changed = Object.keys(body).filter((k) => k !== 'secret');
      await uow.audit({
        action: secret ? 'agentless_credential.rotate' : 'agentless_credential.update',
        targetType: 'agentless_credential',
        targetId: id,
        details: { name: body.name ?? before.name, changed, ...(secret ? { kind: secret.kind } : {}) },
      });
    });
  } catch (err) {
    nameTaken(err, 'agentless_credentials_name_key', 'credential');
  }
  return getAgentlessCredential(deps, id);
}

export async function deleteAgentlessCredential(deps: ApiDeps, origin: Origin, id: string): Promise<void> {
  const credential = await getAgentlessCredential(deps, id);
  if (credential.targetCount > 0)
    throw conflict('credential_in_use', `${credential.targetCount} agentless target(s) log in with this credential: change them first.`);
  try {
    await withUnitOfWork(deps.db, origin, async (uow) => {
      await uow.sql.query('DELETE FROM secrets WHERE owner_type = $1 AND owner_id = $2', [AGENTLESS_CREDENTIAL_OWNER, id]);
      await uow.sql.query('DELETE FROM agentless_credentials WHERE id = $1', [id]);
      await uow.audit({
        action: 'agentless_credential.delete',
        targetType: 'agentless_credential',
        targetId: id,
        details: { name: credential.name },
      });
    });
  } catch (err) {
    // A target took it meanwhile.
    if ((err as { code?: unknown }).code === '23503')
      throw conflict('credential_in_use', 'An agentless target logs in with this credential.');
    throw err;
  }
}

/** The login the relay uses (server-side only). Null when the secret cannot be read (no master key, or it is gone). */
export async function revealCredential(
  deps: Pick<ApiDeps, 'secrets'>,
  id: string,
  kind: 'password' | 'private_key',
): Promise<{ password: string } | { privateKey: string; passphrase?: string } | null> {
  if (kind === 'password') {
    const password = await deps.secrets.revealText(credentialSecret(id, 'password'));
    return password === null ? null : { password };
  }
  const [privateKey, passphrase] = await Promise.all([
    deps.secrets.revealText(credentialSecret(id, 'private_key')),
    deps.secrets.revealText(credentialSecret(id, 'passphrase')),
  ]);
  if (privateKey === null) return null;
  return passphrase === null ? { privateKey } : { privateKey, passphrase };
}

// --- targets ----------------------------------------------------------------------------------------

export interface TargetRow {
  id: string;
  name: string;
  transport: 'ssh' | 'winrm';
  os_family: string;
  host: string;
  port: number;
  credential_id: string;
  credential_name: string;
  credential_kind: 'password' | 'private_key';
  username: string;
  ssh_host_key: string | null;
  host_key_pinned_at: Date | null;
  winrm_https: boolean;
  winrm_auth: 'ntlm' | 'basic';
  winrm_ca: string | null;
  winrm_verify_tls: boolean;
  winrm_allow_basic_over_http: boolean;
  connect_timeout_seconds: number;
  command_kinds: string[];
  last_connected_at: Date | null;
  last_error: string | null;
  last_error_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const TARGET_SELECT = `SELECT d.id, d.hostname AS name, d.transport, d.os_family, t.host, t.port, t.credential_id, c.name AS credential_name,
         c.kind AS credential_kind, c.username, t.ssh_host_key, t.host_key_pinned_at, t.winrm_https, t.winrm_auth, t.winrm_ca,
         t.winrm_verify_tls, t.winrm_allow_basic_over_http, t.connect_timeout_seconds, d.command_kinds, t.last_connected_at,
         t.last_error, t.last_error_at, t.created_at, t.updated_at
    FROM agentless_targets t JOIN devices d ON d.id = t.device_id JOIN agentless_credentials c ON c.id = t.credential_id
   WHERE d.retired_at IS NULL`;

/** `https://host:5986/wsman`, with an IPv6 address in brackets. */
export function winRmEndpoint(r: Pick<TargetRow, 'host' | 'port' | 'winrm_https'>): string {
  const host = r.host.includes(':') ? `[${r.host}]` : r.host;
  return `${r.winrm_https ? 'https' : 'http'}://${host}:${r.port}/wsman`;
}

function toTarget(r: TargetRow): AgentlessTarget {
  return {
    id: r.id,
    name: r.name,
    protocol: r.transport,
    host: r.host,
    port: r.port,
    osFamily: r.os_family,
    credential: { id: r.credential_id, name: r.credential_name, username: r.username },
    connectTimeoutSeconds: r.connect_timeout_seconds,
    ssh: r.transport === 'ssh' ? { hostKey: r.ssh_host_key, hostKeyPinnedAt: r.host_key_pinned_at?.toISOString() ?? null } : null,
    winrm:
      r.transport === 'winrm'
        ? {
            https: r.winrm_https,
            auth: r.winrm_auth,
            hasCa: r.winrm_ca !== null,
            verifyTls: r.winrm_verify_tls,
            allowBasicOverHttp: r.winrm_allow_basic_over_http,
            endpoint: winRmEndpoint(r),
          }
        : null,
    commandKinds: r.command_kinds,
    lastConnectedAt: r.last_connected_at?.toISOString() ?? null,
    lastError: r.last_error,
    lastErrorAt: r.last_error_at?.toISOString() ?? null,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

export async function listAgentlessTargets(deps: ApiDeps): Promise<AgentlessTarget[]> {
  const { rows } = await deps.db.pool.query<TargetRow>(`${TARGET_SELECT} ORDER BY lower(d.hostname), d.id`);
  return rows.map(toTarget);
}

export async function agentlessTargetRow(deps: Pick<ApiDeps, 'db'>, id: string): Promise<TargetRow | undefined> {
  const { rows } = await deps.db.pool.query<TargetRow>(`${TARGET_SELECT} AND d.id = $1`, [id]);
  return rows[0];
}

export async function getAgentlessTarget(deps: ApiDeps, id: string): Promise<AgentlessTarget> {
  const row = await agentlessTargetRow(deps, id);
  if (!row) throw notFound('No such agentless target.');
  return toTarget(row);
}

async function checkCredential(deps: ApiDeps, id: string): Promise<void> {
  const found = await deps.db.pool.query('SELECT 1 FROM agentless_credentials WHERE id = $1', [id]);
  if (found.rowCount === 0)
    throw invalid('validation_failed', 'No such credential.', [{ path: 'credentialId', message: 'unknown credential' }]);
}

/** The settings' rules that span fields: WinRM over HTTP takes Basic only when allowed, and never NTLM (see docs/agentless.md). */
function checkWinRm(s: { https: boolean; auth: 'ntlm' | 'basic'; allowBasicOverHttp: boolean }): void {
  if (s.https) return;
  if (s.auth === 'ntlm')
    throw invalid('validation_failed', 'NTLM over plain HTTP is refused (this client does not seal messages): use HTTPS.', [
      { path: 'https', message: 'must be true for NTLM' },
    ]);
  if (!s.allowBasicOverHttp)
    throw invalid('validation_failed', 'Basic authentication over plain HTTP sends the password in the clear.', [
      { path: 'allowBasicOverHttp', message: 'must be set for Basic over HTTP' },
    ]);
}

export async function createAgentlessTarget(deps: ApiDeps, origin: Origin, body: CreateAgentlessTargetBody): Promise<AgentlessTarget> {
  await checkCredential(deps, body.credentialId);
  const id = randomUUID();
  const winrm = body.protocol === 'winrm' ? body : undefined;
  if (winrm) checkWinRm(winrm);
  const port = body.port ?? (winrm?.https === false ? 5985 : 5986);
  await withUnitOfWork(deps.db, origin, async (uow) => {
    // Nobody knows the secret (it is no hash of anything): no agent can ever authenticate as this device.
    await uow.sql.query(
      `INSERT INTO devices (id, hostname, os_family, os_name, os_version, architecture, ip_addresses, agent_version, secret_hash,
                            protocol_version, capabilities, command_kinds, transport, updated_at)
       VALUES ($1, $2, $3, '', '', '', '{}', $4, $5, 2, $6, $7, $8, now())`,
      [
        id,
        body.name,
        body.protocol === 'ssh' ? body.osFamily : 'windows',
        `agentless (${body.protocol})`,
        `agentless:${id}`,
        agentlessCapabilities,
        agentlessCommandKinds,
        body.protocol,
      ],
    );
    await uow.sql.query(
      `INSERT INTO agentless_targets (device_id, host, port, credential_id, ssh_host_key, host_key_pinned_at, winrm_https, winrm_auth,
                                      winrm_ca, winrm_verify_tls, winrm_allow_basic_over_http, connect_timeout_seconds)
       VALUES ($1, $2, $3, $4, $5, CASE WHEN $5::text IS NULL THEN NULL ELSE now() END, $6, $7, $8, $9, $10, $11)`,
      [
        id,
        body.host,
        port,
        body.credentialId,
        body.protocol === 'ssh' ? (body.hostKey ?? null) : null,
        winrm?.https ?? true,
        winrm?.auth ?? 'ntlm',
        winrm?.ca ?? null,
        winrm?.verifyTls ?? true,
        winrm?.allowBasicOverHttp ?? false,
        body.connectTimeoutSeconds,
      ],
    );
    await uow.audit({
      action: 'agentless_target.create',
      targetType: 'device',
      targetId: id,
      details: { name: body.name, protocol: body.protocol, host: body.host, port, credentialId: body.credentialId },
    });
    // Dynamic groups on OS family (and every-device groups) take it in now.
    await deps.groups.deviceChanged(id, 'agentless target added', uow);
  });
  deps.agentlessRelay?.refresh();
  return getAgentlessTarget(deps, id);
}

export async function updateAgentlessTarget(
  deps: ApiDeps,
  origin: Origin,
  id: string,
  body: UpdateAgentlessTargetBody,
): Promise<AgentlessTarget> {
  const before = await agentlessTargetRow(deps, id);
  if (!before) throw notFound('No such agentless target.');
  if (body.credentialId) await checkCredential(deps, body.credentialId);
  const ssh = before.transport === 'ssh';
  const winRmOnly = (['https', 'auth', 'ca', 'verifyTls', 'allowBasicOverHttp'] as const).filter((k) => body[k] !== undefined);
  if (ssh && winRmOnly.length > 0)
    throw invalid(
      'validation_failed',
      'These settings are for WinRM targets.',
      winRmOnly.map((k) => ({ path: k, message: 'applies to WinRM targets only' })),
    );
  if (!ssh && body.hostKey !== undefined)
    throw invalid('validation_failed', 'A host key is for SSH targets.', [{ path: 'hostKey', message: 'applies to SSH targets only' }]);
  if (!ssh)
    checkWinRm({
      https: body.https ?? before.winrm_https,
      auth: body.auth ?? before.winrm_auth,
      allowBasicOverHttp: body.allowBasicOverHttp ?? before.winrm_allow_basic_over_http,
    });
  await withUnitOfWork(deps.db, origin, async (uow) => {
    if (body.name !== undefined) await uow.sql.query('UPDATE devices SET hostname = $2, updated_at = now() WHERE id = $1', [id, body.name]);
    const hostKey = body.hostKey === undefined ? before.ssh_host_key : body.hostKey;
    await uow.sql.query(
      `UPDATE agentless_targets SET host = $2, port = $3, credential_id = $4, connect_timeout_seconds = $5, ssh_host_key = $6,
              host_key_pinned_at = CASE WHEN $6::text IS NULL THEN NULL WHEN $6::text IS DISTINCT FROM ssh_host_key THEN now() ELSE host_key_pinned_at END,
              winrm_https = $7, winrm_auth = $8, winrm_ca = $9, winrm_verify_tls = $10, winrm_allow_basic_over_http = $11, updated_at = now()
        WHERE device_id = $1`,
      [
        id,
        body.host ?? before.host,
        body.port ?? before.port,
        body.credentialId ?? before.credential_id,
        body.connectTimeoutSeconds ?? before.connect_timeout_seconds,
        hostKey,
        body.https ?? before.winrm_https,
        body.auth ?? before.winrm_auth,
        body.ca === undefined ? before.winrm_ca : body.ca,
        body.verifyTls ?? before.winrm_verify_tls,
        body.allowBasicOverHttp ?? before.winrm_allow_basic_over_http,
      ],
    );
    await uow.audit({
      action: 'agentless_target.update',
      targetType: 'device',
      targetId: id,
      details: {
        name: body.name ?? before.name,
        changed: Object.keys(body),
        ...(body.hostKey !== undefined ? { hostKey: { from: before.ssh_host_key, to: body.hostKey } } : {}),
      },
    });
  });
  return getAgentlessTarget(deps, id);
}

/** Retires the target's device (its runs' history stays) and forgets how to reach it. */
export async function deleteAgentlessTarget(deps: ApiDeps, origin: Origin, id: string): Promise<void> {
  const target = await agentlessTargetRow(deps, id);
  if (!target) throw notFound('No such agentless target.');
  await deps.services.devices.retire(origin, id);
  await withUnitOfWork(deps.db, origin, async (uow) => {
    await uow.sql.query('DELETE FROM agentless_targets WHERE device_id = $1', [id]);
    await uow.audit({ action: 'agentless_target.delete', targetType: 'device', targetId: id, details: { name: target.name } });
  });
  deps.agentlessRelay?.refresh();
}
