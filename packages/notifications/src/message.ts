/**
 * The alert notification every channel renders. Its text comes from untrusted sources (device hostnames reported by
 * agents, rule names typed by users): `normaliseMessage` bounds and cleans it once, and each renderer escapes it for
 * its own format.
 */
import { cleanLine, cleanText, truncate } from './text.ts';

export type AlertMessageKind = 'opened' | 'escalated' | 'resolved' | 'test';
export type AlertMessageSeverity = 'info' | 'warning' | 'critical';

export interface AlertSubject {
  /** What the alert is about: a device's hostname, a group's name… */
  label: string;
  /** A link to it in the console. */
  url?: string;
}

export interface AlertField {
  name: string;
  value: string;
}

export interface AlertMessage {
  kind: AlertMessageKind;
  severity: AlertMessageSeverity;
  /** At most `MESSAGE_LIMITS.title` characters. */
  title: string;
  /** Plain text, at most `MESSAGE_LIMITS.summary` characters. */
  summary: string;
  ruleName: string;
  /** The subjects, or the first of them for a grouped alert (renderers show `MESSAGE_LIMITS.shownSubjects`). */
  subjects: AlertSubject[];
  /** How many subjects the alert has ("300 devices offline in group Berlin"); at least `subjects.length`. */
  count: number;
  /** The alert in the console. */
  url: string;
  /** ISO 8601. */
  occurredAt: string;
  /** The escalation level notified (0 for the first). */
  level: number;
  fields?: AlertField[];
}

export const MESSAGE_LIMITS = {
  title: 200,
  summary: 2000,
  ruleName: 200,
  subjectLabel: 200,
  /** Subjects a message carries (the generic webhook sends them all); `count` still says how many there are. */
  subjects: 1000,
  /** Subjects a chat message or e-mail lists before "and N more". */
  shownSubjects: 10,
  fields: 10,
  fieldName: 100,
  fieldValue: 500,
} as const;

const KINDS: readonly AlertMessageKind[] = ['opened', 'escalated', 'resolved', 'test'];
const SEVERITIES: readonly AlertMessageSeverity[] = ['info', 'warning', 'critical'];

/** A message the caller built wrongly (not untrusted text, which is cleaned, but a kind or a date that is not one). */
export class InvalidMessageError extends Error {
  override readonly name = 'InvalidMessageError';
}

/**
 * The message with every text bounded to `MESSAGE_LIMITS` and cleaned of control and bidi-override characters, the
 * subjects capped, and `count` at least the number of subjects. Renderers call it; callers need not.
 */
export function normaliseMessage(message: AlertMessage): AlertMessage {
  if (!KINDS.includes(message.kind)) throw new InvalidMessageError(`unknown message kind ${String(message.kind)}`);
  if (!SEVERITIES.includes(message.severity)) throw new InvalidMessageError(`unknown severity ${String(message.severity)}`);
  const occurredAt = new Date(message.occurredAt);
  if (Number.isNaN(occurredAt.getTime())) throw new InvalidMessageError(`occurredAt is not a date: ${message.occurredAt}`);
  const subjects = message.subjects.slice(0, MESSAGE_LIMITS.subjects).map((subject) => {
    const label = truncate(cleanLine(subject.label), MESSAGE_LIMITS.subjectLabel);
    return subject.url === undefined ? { label } : { label, url: subject.url };
  });
  const count = Number.isSafeInteger(message.count) && message.count >= subjects.length ? message.count : subjects.length;
  const level = Number.isSafeInteger(message.level) && message.level >= 0 ? message.level : 0;
  const normalised: AlertMessage = {
    kind: message.kind,
    severity: message.severity,
    title: truncate(cleanLine(message.title), MESSAGE_LIMITS.title),
    summary: truncate(cleanText(message.summary), MESSAGE_LIMITS.summary),
    ruleName: truncate(cleanLine(message.ruleName), MESSAGE_LIMITS.ruleName),
    subjects,
    count: Math.max(count, message.subjects.length),
    url: message.url,
    occurredAt: occurredAt.toISOString(),
    level,
  };
  if (message.fields !== undefined) {
    normalised.fields = message.fields.slice(0, MESSAGE_LIMITS.fields).map((field) => ({
      name: truncate(cleanLine(field.name), MESSAGE_LIMITS.fieldName),
      value: truncate(cleanText(field.value), MESSAGE_LIMITS.fieldValue),
    }));
  }
  return normalised;
}

/** "Opened", "Escalated to level 2", "Resolved", "Test notification". */
export function kindLabel(message: AlertMessage): string {
  switch (message.kind) {
    case 'opened':
      return 'Opened';
    case 'escalated':
      return `Escalated to level ${message.level}`;
    case 'resolved':
      return 'Resolved';
    case 'test':
      return 'Test notification';
  }
}

export function severityLabel(severity: AlertMessageSeverity): string {
  return severity === 'critical' ? 'Critical' : severity === 'warning' ? 'Warning' : 'Info';
}

/** The subjects a chat message or e-mail lists, and how many it leaves out ("and N more"). */
export function shownSubjects(message: AlertMessage): { shown: AlertSubject[]; more: number } {
  const shown = message.subjects.slice(0, MESSAGE_LIMITS.shownSubjects);
  return { shown, more: Math.max(0, message.count - shown.length) };
}

/** "1 subject" / "300 subjects". */
export function subjectCount(count: number): string {
  return `${count} ${count === 1 ? 'subject' : 'subjects'}`;
}
