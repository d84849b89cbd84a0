/**
 * NTLMv2 authentication (MS-NLMP) for HTTP: NEGOTIATE, CHALLENGE, AUTHENTICATE. Authentication only: no
 * session security (signing, sealing), so the WinRM client refuses NTLM over plain HTTP, where WinRM would
 * want its messages sealed (see docs/agentless.md).
 *
 * What is sent: the NTLMv2 response with the server's target info plus MsvAvFlags (a MIC is included),
 * MsvAvTargetName (the SPN HTTP/host) and MsvAvChannelBindings (over TLS, the tls-server-end-point binding of
 * the server's certificate, RFC 5929; Extended Protection for Authentication). The MIC is the HMAC-MD5 of
 * the three messages under the session base key (no key exchange is negotiated).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { md4 } from './md4.ts';

export const FLAGS = {
  UNICODE: 0x00000001,
  REQUEST_TARGET: 0x00000004,
  NTLM: 0x00000200,
  ALWAYS_SIGN: 0x00008000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
  N128: 0x20000000,
  N56: 0x80000000,
} as const;

export const AV = {
  EOL: 0,
  NB_COMPUTER_NAME: 1,
  NB_DOMAIN_NAME: 2,
  DNS_COMPUTER_NAME: 3,
  DNS_DOMAIN_NAME: 4,
  TIMESTAMP: 7,
  FLAGS: 6,
  TARGET_NAME: 9,
  CHANNEL_BINDINGS: 10,
} as const;

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');
/** Windows 10 (10.0.19041), NTLM revision 15: only informative. */
const VERSION = Buffer.from([10, 0, 0x61, 0x4a, 0, 0, 0, 0x0f]);
const CLIENT_FLAGS =
  FLAGS.UNICODE |
  FLAGS.REQUEST_TARGET |
  FLAGS.NTLM |
  FLAGS.ALWAYS_SIGN |
  FLAGS.EXTENDED_SESSIONSECURITY |
  FLAGS.VERSION |
  FLAGS.N128 |
  FLAGS.N56;

export class NtlmError extends Error {
  override name = 'NtlmError';
}

const hmacMd5 = (key: Buffer, ...data: Buffer[]) => {
  const h = createHmac('md5', key);
  for (const d of data) h.update(d);
  return h.digest();
};
const utf16 = (s: string) => Buffer.from(s, 'utf16le');

/** NTOWFv2 (MS-NLMP 3.3.2): HMAC-MD5 under MD4(password), of the upper-cased user name and the domain. */
export function ntowfv2(password: string, user: string, domain: string): Buffer {
  return hmacMd5(md4(utf16(password)), utf16(user.toUpperCase() + domain));
}

/** NTProofStr: HMAC-MD5 under NTOWFv2 of the server challenge and `temp` (the rest of the NTLMv2 response). */
export function ntProofStr(responseKeyNt: Buffer, serverChallenge: Buffer, temp: Buffer): Buffer {
  return hmacMd5(responseKeyNt, serverChallenge, temp);
}

/** The session base key of NTLMv2 (also the key of the MIC when no key exchange is negotiated). */
export function sessionBaseKey(responseKeyNt: Buffer, proof: Buffer): Buffer {
  return hmacMd5(responseKeyNt, proof);
}

/** LMv2 response: HMAC-MD5 of both challenges, then the client challenge. */
export function lmv2Response(responseKeyNt: Buffer, serverChallenge: Buffer, clientChallenge: Buffer): Buffer {
  return Buffer.concat([hmacMd5(responseKeyNt, serverChallenge, clientChallenge), clientChallenge]);
}

/** `temp` of MS-NLMP 3.3.2: version 1.1, the time, the client challenge, the AV pairs. */
export function ntlmv2Temp(timestamp: Buffer, clientChallenge: Buffer, avPairs: Buffer): Buffer {
  return Buffer.concat([Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]), timestamp, clientChallenge, Buffer.alloc(4), avPairs, Buffer.alloc(4)]);
}

export function parseAvPairs(buf: Buffer): Array<{ id: number; value: Buffer }> {
  const out: Array<{ id: number; value: Buffer }> = [];
  let i = 0;
  while (i + 4 <= buf.length) {
    const id = buf.readUInt16LE(i);
    const len = buf.readUInt16LE(i + 2);
    if (id === AV.EOL) return out;
    if (i + 4 + len > buf.length) throw new NtlmError('a truncated AV pair in the target info');
    out.push({ id, value: buf.subarray(i + 4, i + 4 + len) });
    i += 4 + len;
  }
  throw new NtlmError('the target info has no end (MsvAvEOL)');
}

export function buildAvPairs(pairs: Array<{ id: number; value: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  for (const { id, value } of pairs) {
    const head = Buffer.alloc(4);
    head.writeUInt16LE(id, 0);
    head.writeUInt16LE(value.length, 2);
    parts.push(head, value);
  }
  parts.push(Buffer.alloc(4)); // MsvAvEOL
  return Buffer.concat(parts);
}

/** Reads a (length, max length, offset) field of an NTLM message. */
export function field(msg: Buffer, at: number): Buffer {
  if (at + 8 > msg.length) throw new NtlmError('a truncated NTLM message');
  const len = msg.readUInt16LE(at);
  const offset = msg.readUInt32LE(at + 4);
  if (offset + len > msg.length) throw new NtlmError('an NTLM field points past the message');
  return msg.subarray(offset, offset + len);
}

function checkHeader(msg: Buffer, type: number): void {
  if (msg.length < 12 || !msg.subarray(0, 8).equals(SIGNATURE) || msg.readUInt32LE(8) !== type) {
    throw new NtlmError(`not an NTLM message of type ${type}`);
  }
}

export function negotiateMessage(): Buffer {
  const msg = Buffer.alloc(40);
  SIGNATURE.copy(msg, 0);
  msg.writeUInt32LE(1, 8);
  msg.writeUInt32LE(CLIENT_FLAGS >>> 0, 12);
  // Domain and workstation: empty, offset at the end of the message.
  msg.writeUInt32LE(40, 20);
  msg.writeUInt32LE(40, 28);
  VERSION.copy(msg, 32);
  return msg;
}

export interface Challenge {
  flags: number;
  serverChallenge: Buffer;
  targetInfo: Buffer;
}

export function parseChallenge(msg: Buffer): Challenge {
  checkHeader(msg, 2);
  if (msg.length < 48) throw new NtlmError('a truncated NTLM challenge');
  const flags = msg.readUInt32LE(20);
  if (!(flags & FLAGS.UNICODE)) throw new NtlmError('the server does not speak Unicode NTLM');
  const targetInfo = flags & FLAGS.TARGET_INFO ? field(msg, 40) : Buffer.alloc(0);
  if (targetInfo.length === 0) throw new NtlmError('the NTLM challenge has no target info (NTLMv2 needs it)');
  parseAvPairs(targetInfo);
  return { flags, serverChallenge: Buffer.from(msg.subarray(24, 32)), targetInfo: Buffer.from(targetInfo) };
}

/** `DOMAIN\user` → domain and user; `user@domain` and `user` go as they are, with an empty domain. */
export function splitUsername(username: string): { user: string; domain: string } {
  const slash = username.indexOf('\\');
  return slash < 0 ? { user: username, domain: '' } : { user: username.slice(slash + 1), domain: username.slice(0, slash) };
}

/** FILETIME now: 100 ns intervals since 1601-01-01, little-endian. */
export function fileTime(date = new Date()): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE((BigInt(date.getTime()) + 11_644_473_600_000n) * 10_000n);
  return buf;
}

/** The MD5 of a gss_channel_bindings_struct holding `tls-server-end-point:` and the certificate's hash. */
export function tlsChannelBindings(certificateDer: Buffer): Buffer {
  const appData = Buffer.concat([
    Buffer.from('tls-server-end-point:', 'latin1'),
    createHash(certHashAlgorithm(certificateDer)).update(certificateDer).digest(),
  ]);
  const head = Buffer.alloc(20); // initiator and acceptor address types and lengths: zero
  head.writeUInt32LE(appData.length, 16);
  return createHash('md5').update(head).update(appData).digest();
}

/**
 * RFC 5929: the certificate's signature hash, SHA-256 where that is MD5 or SHA-1 (or unknown). Reads the
 * signatureAlgorithm OID after tbsCertificate in the DER.
 */
export function certHashAlgorithm(der: Buffer): 'sha256' | 'sha384' | 'sha512' {
  try {
    const readLength = (at: number): { length: number; header: number } => {
      const first = der[at + 1]!;
      if (first < 0x80) return { length: first, header: 2 };
      const n = first & 0x7f;
      let length = 0;
      for (let k = 0; k < n; k++) length = length * 256 + der[at + 2 + k]!;
      return { length, header: 2 + n };
    };
    const outer = readLength(0);
    const tbsAt = outer.header;
    const tbs = readLength(tbsAt);
    const algAt = tbsAt + tbs.header + tbs.length;
    const alg = readLength(algAt);
    const oidAt = algAt + alg.header;
    const oid = readLength(oidAt);
    const hex = der.subarray(oidAt + oid.header, oidAt + oid.header + oid.length).toString('hex');
    const byOid: Record<string, 'sha384' | 'sha512'> = {
      '2a864886f70d01010c': 'sha384', // sha384WithRSAEncryption
      '2a864886f70d01010d': 'sha512', // sha512WithRSAEncryption
      '2a8648ce3d040303': 'sha384', // ecdsa-with-SHA384
      '2a8648ce3d040304': 'sha512', // ecdsa-with-SHA512
    };
    return byOid[hex] ?? 'sha256';
  } catch {
    return 'sha256';
  }
}

export interface AuthenticateOptions {
  negotiate: Buffer;
  challenge: Buffer;
  username: string;
  password: string;
  /** The SPN of the service, `HTTP/host`. */
  targetName?: string;
  /** 16 bytes, from tlsChannelBindings; zeros (no binding) without TLS. */
  channelBindings?: Buffer;
  /** For tests: fixed values instead of random and now. */
  clientChallenge?: Buffer;
  timestamp?: Buffer;
}

export function authenticateMessage(opts: AuthenticateOptions): Buffer {
  const challenge = parseChallenge(opts.challenge);
  const { user, domain } = splitUsername(opts.username);
  const clientChallenge = opts.clientChallenge ?? randomBytes(8);
  const pairs = parseAvPairs(challenge.targetInfo).filter(
    (p) => p.id !== AV.FLAGS && p.id !== AV.TARGET_NAME && p.id !== AV.CHANNEL_BINDINGS,
  );
  const serverTime = pairs.find((p) => p.id === AV.TIMESTAMP)?.value;
  const withMic = serverTime !== undefined;
  const avFlags = Buffer.alloc(4);
  avFlags.writeUInt32LE(withMic ? 0x2 : 0);
  pairs.push({ id: AV.FLAGS, value: avFlags });
  if (opts.targetName) pairs.push({ id: AV.TARGET_NAME, value: utf16(opts.targetName) });
  pairs.push({ id: AV.CHANNEL_BINDINGS, value: opts.channelBindings ?? Buffer.alloc(16) });
  const timestamp = opts.timestamp ?? serverTime ?? fileTime();
  const key = ntowfv2(opts.password, user, domain);
  const temp = ntlmv2Temp(timestamp, clientChallenge, buildAvPairs(pairs));
  const proof = ntProofStr(key, challenge.serverChallenge, temp);
  const ntResponse = Buffer.concat([proof, temp]);
  // With a server timestamp the LMv2 response is left zero (MS-NLMP 3.1.5.1.2).
  const lmResponse = withMic ? Buffer.alloc(24) : lmv2Response(key, challenge.serverChallenge, clientChallenge);
  const flags = (challenge.flags & CLIENT_FLAGS) | FLAGS.UNICODE | FLAGS.NTLM;

  const payload = [utf16(domain), utf16(user), utf16(''), lmResponse, ntResponse, Buffer.alloc(0)];
  const HEADER = 88;
  const msg = Buffer.alloc(HEADER + payload.reduce((n, p) => n + p.length, 0));
  SIGNATURE.copy(msg, 0);
  msg.writeUInt32LE(3, 8);
  // Field order in the header: LM, NT, domain, user, workstation, encrypted random session key.
  const headerOrder = [3, 4, 0, 1, 2, 5];
  const offsets: number[] = [];
  let offset = HEADER;
  for (const p of payload) {
    offsets.push(offset);
    p.copy(msg, offset);
    offset += p.length;
  }
  headerOrder.forEach((index, slot) => {
    const at = 12 + slot * 8;
    msg.writeUInt16LE(payload[index]!.length, at);
    msg.writeUInt16LE(payload[index]!.length, at + 2);
    msg.writeUInt32LE(offsets[index]!, at + 4);
  });
  msg.writeUInt32LE(flags >>> 0, 60);
  VERSION.copy(msg, 64);
  if (withMic) {
    const mic = hmacMd5(sessionBaseKey(key, proof), opts.negotiate, opts.challenge, msg);
    mic.copy(msg, 72);
  }
  return msg;
}

export interface ParsedAuthenticate {
  flags: number;
  domain: string;
  user: string;
  workstation: string;
  lmResponse: Buffer;
  ntResponse: Buffer;
  mic: Buffer;
}

/** Reads an AUTHENTICATE message (for the server side; the tests verify the client's with it). */
export function parseAuthenticate(msg: Buffer): ParsedAuthenticate {
  checkHeader(msg, 3);
  if (msg.length < 88) throw new NtlmError('a truncated NTLM authenticate message');
  const text = (b: Buffer) => b.toString('utf16le');
  return {
    lmResponse: field(msg, 12),
    ntResponse: field(msg, 20),
    domain: text(field(msg, 28)),
    user: text(field(msg, 36)),
    workstation: text(field(msg, 44)),
    flags: msg.readUInt32LE(60),
    mic: Buffer.from(msg.subarray(72, 88)),
  };
}
