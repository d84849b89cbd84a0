/**
 * E-mail subject, plain text and HTML. The HTML escapes every untrusted text and links only http(s) URLs; the subject
 * is one line (no header injection), and both bodies list at most ten subjects.
 */
import { kindLabel, normaliseMessage, severityLabel, shownSubjects, type AlertMessage } from '../message.ts';
import { cleanLine, linkUrl, truncate } from '../text.ts';

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

export const EMAIL_LIMITS = { subject: 250 } as const;

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const COLOR = { info: '#2563eb', warning: '#d97706', critical: '#dc2626' } as const;

export function renderEmail(input: AlertMessage): EmailContent {
  const message = normaliseMessage(input);
  const status = kindLabel(message);
  const severity = severityLabel(message.severity);
  const subject = truncate(cleanLine(`[${severity}] ${status}: ${message.title}`), EMAIL_LIMITS.subject);
  const { shown, more } = shownSubjects(message);
  const alertUrl = linkUrl(message.url);
  const facts: Array<[string, string]> = [
    ['Status', status],
    ['Severity', severity],
    ['Rule', message.ruleName],
    ['Subjects', String(message.count)],
    ['Level', String(message.level)],
    ['Occurred', message.occurredAt],
    ...(message.fields ?? []).map((field): [string, string] => [field.name, field.value]),
  ];

  const text = [
    message.title,
    '',
    ...(message.summary.length > 0 ? [message.summary, ''] : []),
    ...facts.map(([name, value]) => `${name}: ${value}`),
    ...(shown.length > 0 ? ['', ...shown.map((s) => `- ${s.label}`), ...(more > 0 ? [`and ${more} more`] : [])] : []),
    ...(alertUrl !== null ? ['', `Open the alert: ${alertUrl}`] : []),
    '',
  ].join('\n');

  const color = message.kind === 'resolved' ? '#16a34a' : COLOR[message.severity];
  const subjectItems = shown.map((s) => {
    const url = linkUrl(s.url);
    return url === null ? `<li>${escapeHtml(s.label)}</li>` : `<li><a href="${escapeHtml(url)}">${escapeHtml(s.label)}</a></li>`;
  });
  if (more > 0) subjectItems.push(`<li>and ${more} more</li>`);
  const html = [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"></head>',
    '<body style="font-family: sans-serif; color: #111827;">',
    `<h2 style="border-left: 4px solid ${color}; padding-left: 8px;">${escapeHtml(message.title)}</h2>`,
    message.summary.length > 0 ? `<p style="white-space: pre-wrap;">${escapeHtml(message.summary)}</p>` : '',
    '<table cellpadding="4">',
    ...facts.map(([name, value]) => `<tr><th align="left">${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`),
    '</table>',
    subjectItems.length > 0 ? `<ul>${subjectItems.join('')}</ul>` : '',
    alertUrl !== null ? `<p><a href="${escapeHtml(alertUrl)}">Open the alert in OpsConductor</a></p>` : '',
    '</body></html>',
  ]
    .filter((line) => line.length > 0)
    .join('\n');
  return { subject, text, html };
}
