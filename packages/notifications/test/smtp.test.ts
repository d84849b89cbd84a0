/**
 * E-mail over SMTP to a real smtp-server on loopback: plain, with authentication, with STARTTLS and implicit TLS (a
 * throwaway self-signed certificate from the openssl CLI), and the SMTP replies that are temporary or permanent.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterAll, describe, expect, it } from 'vitest';
import { deliver, type SmtpChannel } from '../src/index.ts';
import { alertMessage } from './support/messages.ts';

interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  secure: boolean;
  user: string | undefined;
}

interface SmtpSink {
  port: number;
  mails: ReceivedMail[];
  close(): Promise<void>;
}

const servers: SmtpSink[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function startSmtp(
  options: Partial<SMTPServerOptions> & { rejectRecipient?: { code: number; message: string } } = {},
): Promise<SmtpSink> {
  const mails: ReceivedMail[] = [];
  const { rejectRecipient, ...serverOptions } = options;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: options.key === undefined ? ['STARTTLS'] : [],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (rejectRecipient === undefined) return callback();
      callback(Object.assign(new Error(rejectRecipient.message), { responseCode: rejectRecipient.code }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          secure: session.secure,
          user: typeof session.user === 'string' ? session.user : undefined,
        });
        callback();
      });
    },
    ...serverOptions,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sink: SmtpSink = {
    port: (server.server.address() as AddressInfo).port,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  servers.push(sink);
  return sink;
}

/** The decoded body of the first MIME part of `type` (quoted-printable or base64, as nodemailer encodes). */
function mimePart(raw: string, type: string): string {
  const parts = raw.split(/\r\n--[^\r\n]+\r\n/);
  const part = parts.find((p) => new RegExp(`^Content-Type: ${type}`, 'im').test(p));
  if (part === undefined) throw new Error(`no ${type} part`);
  const split = part.indexOf('\r\n\r\n');
  const headers = part.slice(0, split);
  const body = part.slice(split + 4).replace(/\r\n--[^\r\n]*--\r\n?$/, '');
  const encoding = /^Content-Transfer-Encoding: (\S+)/im.exec(headers)?.[1]?.toLowerCase();
  if (encoding === 'base64') return Buffer.from(body, 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => `%${hex}`);
    return decodeURIComponent(bytes.replace(/%(?![0-9A-F]{2})/gi, '%25'));
  }
  return body;
}

const header = (raw: string, name: string) => new RegExp(`^${name}: (.*)$`, 'im').exec(raw)?.[1];

const message = alertMessage({ title: 'Disk full on db-01', summary: 'Free space <5% on /var & /srv' });

function channel(port: number, overrides: Partial<SmtpChannel> = {}): SmtpChannel {
  return {
    type: 'smtp',
    host: '127.0.0.1',
    port,
    security: 'none',
    from: 'alerts@opsconductor.example',
    to: ['ops@example.com', 'oncall@example.com'],
    ...overrides,
  };
}

describe('SMTP delivery', () => {
  it('delivers a mail with the subject, recipients, plain text and HTML-escaped body', async () => {
    const smtp = await startSmtp();
    const result = await deliver(channel(smtp.port), message);
    expect(result).toMatchObject({ ok: true, responseCode: 250, retryable: false });
    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0]!;
    expect(mail).toMatchObject({ from: 'alerts@opsconductor.example', to: ['ops@example.com', 'oncall@example.com'], secure: false });
    expect(header(mail.raw, 'Subject')).toBe('[Critical] Opened: Disk full on db-01');
    expect(header(mail.raw, 'To')).toBe('ops@example.com, oncall@example.com');
    expect(mimePart(mail.raw, 'text/plain')).toContain('Free space <5% on /var & /srv');
    const html = mimePart(mail.raw, 'text/html');
    expect(html).toContain('Free space &lt;5% on /var &amp; /srv');
    expect(html).not.toContain('<5%');
  });

  it('authenticates when a user name is given', async () => {
    const smtp = await startSmtp({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        if (auth.username === 'relay' && auth.password === 's3cret') callback(null, { user: 'relay' });
        else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
    });
    expect(await deliver(channel(smtp.port, { username: 'relay', password: 's3cret' }), message)).toMatchObject({ ok: true });
    expect(smtp.mails[0]?.user).toBe('relay');
    const wrong = await deliver(channel(smtp.port, { username: 'relay', password: 'wrong' }), message);
    expect(wrong).toMatchObject({ ok: false, responseCode: 535, retryable: false });
    expect(smtp.mails).toHaveLength(1);
  });

  it('a permanent recipient refusal (550) is final, a temporary one (451) retryable', async () => {
    const permanent = await startSmtp({ rejectRecipient: { code: 550, message: 'No such user' } });
    expect(await deliver(channel(permanent.port), message)).toMatchObject({ ok: false, responseCode: 550, retryable: false });
    const temporary = await startSmtp({ rejectRecipient: { code: 451, message: 'Try again later' } });
    expect(await deliver(channel(temporary.port), message)).toMatchObject({ ok: false, responseCode: 451, retryable: true });
  });

  it('a relay that is not there is retryable', async () => {
    const gone = await startSmtp();
    await gone.close();
    const result = await deliver(channel(gone.port), message, { timeoutMs: 2000 });
    expect(result).toMatchObject({ ok: false, responseCode: null, retryable: true });
    expect(result.detail).toMatch(/ECONNECTION|ECONNREFUSED/);
  });

  it('refuses to send without recipients', async () => {
    expect(await deliver(channel(1, { to: [] }), message)).toEqual({
      ok: false,
      responseCode: null,
      detail: 'no recipients',
      retryable: false,
    });
  });
});

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

describe.skipIf(!hasOpenssl)('SMTP over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'opsconductor-smtp-tls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const certificate = () => {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', keyFile, '-out', certFile,
    ], { stdio: 'ignore' }); // prettier-ignore
    return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
  };
  const tls = certificate();

  it('STARTTLS: upgrades, verifies the certificate against the given CA, then delivers', async () => {
    const smtp = await startSmtp({ key: tls.key, cert: tls.cert });
    const result = await deliver(channel(smtp.port, { security: 'starttls', ca: tls.cert }), message);
    expect(result).toMatchObject({ ok: true, responseCode: 250 });
    expect(smtp.mails[0]?.secure).toBe(true);
  });

  it('STARTTLS: an untrusted certificate is refused, and nothing is sent in the clear', async () => {
    const smtp = await startSmtp({ key: tls.key, cert: tls.cert });
    const result = await deliver(channel(smtp.port, { security: 'starttls' }), message);
    expect(result).toMatchObject({ ok: false, retryable: false });
    expect(result.detail).toMatch(/certificate/);
    expect(smtp.mails).toHaveLength(0);
  });

  it('STARTTLS required: a relay that does not offer it gets nothing', async () => {
    const plain = await startSmtp();
    const result = await deliver(channel(plain.port, { security: 'starttls', ca: tls.cert }), message);
    expect(result).toMatchObject({ ok: false, retryable: false });
    expect(plain.mails).toHaveLength(0);
  });

  it('implicit TLS delivers', async () => {
    const smtp = await startSmtp({ secure: true, key: tls.key, cert: tls.cert });
    const result = await deliver(channel(smtp.port, { security: 'tls', ca: tls.cert }), message);
    expect(result).toMatchObject({ ok: true, responseCode: 250 });
    expect(smtp.mails[0]?.secure).toBe(true);
  });
});
