/**
 * E-mail over SMTP with nodemailer, for on-premises relays. The SMTP host is an admin's own relay, usually on the
 * internal network, so it is not put through the HTTP SSRF guard; it only ever speaks SMTP to it.
 */
import nodemailer from 'nodemailer';
import type { SmtpChannel } from '../channel.ts';
import type { AlertMessage } from '../message.ts';
import { renderEmail } from '../render/email.ts';
import { failureResult, type DeliveryResult } from '../result.ts';

export interface SmtpDeliveryOptions {
  timeoutMs?: number;
}

/** Transient by nature: the connection, DNS, a timeout. Authentication, TLS and envelope errors need an admin. */
const RETRYABLE_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNRESET', 'ECONNREFUSED']);

export async function deliverSmtp(channel: SmtpChannel, message: AlertMessage, options: SmtpDeliveryOptions = {}): Promise<DeliveryResult> {
  if (channel.to.length === 0) return failureResult('no recipients', false);
  const timeout = options.timeoutMs ?? 10_000;
  const email = renderEmail(message);
  const transport = nodemailer.createTransport({
    host: channel.host,
    port: channel.port,
    secure: channel.security === 'tls',
    requireTLS: channel.security === 'starttls',
    ignoreTLS: channel.security === 'none',
    ...(channel.username === undefined ? {} : { auth: { user: channel.username, pass: channel.password ?? '' } }),
    ...(channel.ca === undefined ? {} : { tls: { ca: channel.ca } }),
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  try {
    const info = await transport.sendMail({
      from: channel.from,
      to: channel.to,
      subject: email.subject,
      text: email.text,
      html: email.html,
    });
    const code = /^(\d{3})/.exec(info.response)?.[1];
    return { ok: true, responseCode: code === undefined ? 250 : Number(code), detail: info.response.slice(0, 4096), retryable: false };
  } catch (error) {
    return smtpFailure(error);
  } finally {
    transport.close();
  }
}

function smtpFailure(error: unknown): DeliveryResult {
  const fields = error instanceof Error ? (error as Error & { code?: unknown; responseCode?: unknown }) : null;
  const responseCode = typeof fields?.responseCode === 'number' ? fields.responseCode : null;
  const code = typeof fields?.code === 'string' ? fields.code : null;
  const detail = `${code === null ? '' : `${code}: `}${error instanceof Error ? error.message : String(error)}`.slice(0, 4096);
  // A 4xx reply is a temporary failure by definition (RFC 5321 §4.2.1); 5xx is permanent.
  // A certificate the relay presents and we do not trust stays untrusted until an admin acts (nodemailer reports it
  // as a socket error).
  const certificate = error instanceof Error && /certificate|CERT_/i.test(error.message);
  const retryable =
    responseCode !== null ? responseCode >= 400 && responseCode < 500 : code !== null && RETRYABLE_CODES.has(code) && !certificate;
  return { ok: false, responseCode, detail, retryable };
}
