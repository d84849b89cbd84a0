/**
 * Agentless targets and their credentials (issue 7, ADR 21): machines without an agent, reached by the API's relay
 * over SSH or WinRM. A target is a device (transport `ssh` or `winrm`): groups, tags and runs take it like any other.
 * A credential's secret (password, or private key and passphrase) goes in once and never comes back out.
 */
import { z } from 'zod';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from './text.ts';
import { capability, type CommandKind } from './commands.ts';

const storable = (s: z.ZodString) => s.refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);
const uuid = z.string().uuid();
const name = storable(z.string().max(200).trim().min(1));
const description = storable(z.string().max(2000)).default('');
/** As SSH and Windows take them: `user`, `DOMAIN\user`, `user@domain`; no control characters. */
export const agentlessUsername = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\u0000-\u001f\u007f:]+$/, 'must not hold control characters or ":"');
/** A password: any text up to 1,024 characters, but NUL (which neither protocol can carry). */
const password = storable(z.string().min(1).max(1024));
/** An OpenSSH, PEM or PuTTY private key (checked by parsing it when saved). */
const privateKey = storable(
  z
    .string()
    .min(1)
    .max(16 * 1024),
);
const passphrase = storable(z.string().min(1).max(1024));

export const agentlessCredentialKinds = ['password', 'private_key'] as const;
export const agentlessProtocols = ['ssh', 'winrm'] as const;
export type AgentlessProtocol = (typeof agentlessProtocols)[number];

/** The secret part of a credential: given on creation and on each rotation, never returned. */
export const agentlessCredentialSecret = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('password'), password }),
  z.strictObject({ kind: z.literal('private_key'), privateKey, passphrase: passphrase.optional() }),
]);
export type AgentlessCredentialSecret = z.infer<typeof agentlessCredentialSecret>;

export const createAgentlessCredentialBody = z
  .strictObject({ name, description, username: agentlessUsername, secret: agentlessCredentialSecret })
  .meta({ id: 'CreateAgentlessCredential' });
export type CreateAgentlessCredentialBody = z.infer<typeof createAgentlessCredentialBody>;

/** Changes what is given; `secret` rotates the password or key (the old one is gone at once). */
export const updateAgentlessCredentialBody = z
  .strictObject({
    name: name.optional(),
    description: storable(z.string().max(2000)).optional(),
    username: agentlessUsername.optional(),
    secret: agentlessCredentialSecret.optional(),
  })
  .meta({ id: 'UpdateAgentlessCredential' });
export type UpdateAgentlessCredentialBody = z.infer<typeof updateAgentlessCredentialBody>;

export const agentlessCredential = z
  .object({
    id: uuid,
    name: z.string(),
    description: z.string(),
    kind: z.enum(agentlessCredentialKinds),
    username: z.string(),
    hasPassphrase: z.boolean(),
    /** Targets that log in with it. */
    targetCount: z.number().int(),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    /** When its secret was last set. */
    rotatedAt: z.string(),
  })
  .meta({ id: 'AgentlessCredential' });
export type AgentlessCredential = z.infer<typeof agentlessCredential>;
export const agentlessCredentialList = z.object({ items: z.array(agentlessCredential) }).meta({ id: 'AgentlessCredentialList' });

/** A DNS name, an IPv4 address or an IPv6 address (without brackets). */
export const agentlessHost = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9._:-]+$/, 'must be a host name or an IP address');
const port = z.number().int().min(1).max(65535);
/** As `ssh-keygen -lf` prints it. */
export const sshHostKeyFingerprint = z
  .string()
  .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'must look like SHA256:<43 base64 characters>, as ssh-keygen -l prints it');
/** PEM certificates (the WinRM listener's own, or its CA's). */
const pemCertificates = storable(z.string().max(64 * 1024)).refine(
  (s) => s.includes('-----BEGIN CERTIFICATE-----'),
  'must hold PEM certificates (-----BEGIN CERTIFICATE-----)',
);
const connectTimeoutSeconds = z.number().int().min(1).max(300);

const targetCommon = {
  name,
  host: agentlessHost,
  credentialId: uuid,
  connectTimeoutSeconds: connectTimeoutSeconds.default(20),
};
const sshSettings = {
  /** Pinned; without one the first connection's key is pinned. */
  hostKey: sshHostKeyFingerprint.optional(),
};
const winrmSettings = {
  /** HTTPS (port 5986) unless false (HTTP, port 5985: NTLM is refused there, Basic only with allowBasicOverHttp). */
  https: z.boolean().default(true),
  auth: z.enum(['ntlm', 'basic']).default('ntlm'),
  /** Certificates to trust for the listener (besides the system's CAs). */
  ca: pemCertificates.optional(),
  /** Certificate validation; on unless turned off here (don't). */
  verifyTls: z.boolean().default(true),
  /** Basic authentication over plain HTTP sends the password in the clear: refused unless this is set. */
  allowBasicOverHttp: z.boolean().default(false),
};

export const createAgentlessTargetBody = z
  .discriminatedUnion('protocol', [
    z.strictObject({
      protocol: z.literal('ssh'),
      ...targetCommon,
      port: port.default(22),
      ...sshSettings,
      osFamily: z.enum(['linux', 'macos', 'other']).default('linux'),
    }),
    z.strictObject({ protocol: z.literal('winrm'), ...targetCommon, port: port.optional(), ...winrmSettings }),
  ])
  .meta({ id: 'CreateAgentlessTarget' });
export type CreateAgentlessTargetBody = z.infer<typeof createAgentlessTargetBody>;

/** Changes what is given. `hostKey: null` forgets the pinned key: the next connection pins the key it sees. */
export const updateAgentlessTargetBody = z
  .strictObject({
    name: name.optional(),
    host: agentlessHost.optional(),
    port: port.optional(),
    credentialId: uuid.optional(),
    connectTimeoutSeconds: connectTimeoutSeconds.optional(),
    hostKey: sshHostKeyFingerprint.nullable().optional(),
    https: z.boolean().optional(),
    auth: z.enum(['ntlm', 'basic']).optional(),
    ca: pemCertificates.nullable().optional(),
    verifyTls: z.boolean().optional(),
    allowBasicOverHttp: z.boolean().optional(),
  })
  .meta({ id: 'UpdateAgentlessTarget' });
export type UpdateAgentlessTargetBody = z.infer<typeof updateAgentlessTargetBody>;

export const agentlessTarget = z
  .object({
    /** Its device ID: run targets, groups and tags name it by this. */
    id: uuid,
    name: z.string(),
    protocol: z.enum(agentlessProtocols),
    host: z.string(),
    port: z.number().int(),
    osFamily: z.string(),
    credential: z.object({ id: uuid, name: z.string(), username: z.string() }),
    connectTimeoutSeconds: z.number().int(),
    ssh: z.object({ hostKey: z.string().nullable(), hostKeyPinnedAt: z.string().nullable() }).nullable(),
    winrm: z
      .object({
        https: z.boolean(),
        auth: z.enum(['ntlm', 'basic']),
        hasCa: z.boolean(),
        verifyTls: z.boolean(),
        allowBasicOverHttp: z.boolean(),
        endpoint: z.string(),
      })
      .nullable(),
    /** The command kinds steps may use on it (shell, script, file.fetch). */
    commandKinds: z.array(z.string()),
    lastConnectedAt: z.string().nullable(),
    lastError: z.string().nullable(),
    lastErrorAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'AgentlessTarget' });
export type AgentlessTarget = z.infer<typeof agentlessTarget>;
export const agentlessTargetList = z.object({ items: z.array(agentlessTarget) }).meta({ id: 'AgentlessTargetList' });

/** What the relay runs on an agentless target, over either protocol: it neither reboots one nor takes its inventory. */
export const agentlessCommandKinds: readonly CommandKind[] = ['shell', 'script', 'file.fetch'];
export const agentlessCapabilities: readonly string[] = agentlessCommandKinds.map((kind) => capability(kind));
