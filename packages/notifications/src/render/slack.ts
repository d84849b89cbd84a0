/**
 * Slack incoming webhook payload with Block Kit (https://docs.slack.dev/reference/block-kit/blocks). Untrusted text is
 * escaped for mrkdwn (`&`, `<`, `>`: no `<!channel>`, `<@U…>` or `<url|label>` can be injected) and every mrkdwn text
 * object is `verbatim`, so Slack does not turn bare URLs, #channels or @names into links or mentions either.
 */
import { kindLabel, normaliseMessage, severityLabel, shownSubjects, subjectCount, type AlertMessage } from '../message.ts';
import { linkUrl, truncate, truncateEscaped } from '../text.ts';

export const SLACK_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  contextElements: 10,
  buttonText: 75,
  buttonUrl: 3000,
  /** The top-level `text` is the notification and fallback; Slack truncates it at 40,000, we keep it short. */
  fallbackText: 3000,
} as const;

// The blocks this renderer uses, as Block Kit defines them (structurally @slack/types' KnownBlock, which is not a
// dependency of this package).
export interface SlackPlainText {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}
export interface SlackMrkdwn {
  type: 'mrkdwn';
  text: string;
  verbatim?: boolean;
}
export type SlackBlock =
  | { type: 'header'; text: SlackPlainText }
  | { type: 'section'; text: SlackMrkdwn; fields?: never }
  | { type: 'section'; fields: SlackMrkdwn[]; text?: never }
  | { type: 'actions'; elements: Array<{ type: 'button'; text: SlackPlainText; url: string }> }
  | { type: 'context'; elements: SlackMrkdwn[] };

export interface SlackPayload {
  text: string;
  blocks: SlackBlock[];
}

export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const SEVERITY_EMOJI = { info: '🔵', warning: '🟠', critical: '🔴' } as const;

function mrkdwn(text: string): SlackMrkdwn {
  return { type: 'mrkdwn', text, verbatim: true };
}

/** A link in mrkdwn: `<url|label>`; the URL cannot contain `|` or `>` (percent-encoded), the label is escaped. */
function slackLink(url: string, label: string, max: number): string {
  const href = url.replace(/\|/g, '%7C').replace(/</g, '%3C').replace(/>/g, '%3E').replace(/&/g, '&amp;');
  return `<${href}|${truncateEscaped(label, Math.max(1, max - href.length - 3), escapeSlack)}>`;
}

export function renderSlack(input: AlertMessage): SlackPayload {
  const message = normaliseMessage(input);
  const status = kindLabel(message);
  const emoji = message.kind === 'resolved' ? '✅' : SEVERITY_EMOJI[message.severity];
  const blocks: SlackBlock[] = [
    // plain_text is never parsed for mentions or formatting.
    { type: 'header', text: { type: 'plain_text', text: truncate(`${emoji} ${message.title}`, SLACK_LIMITS.headerText), emoji: true } },
  ];
  if (message.summary.length > 0) {
    blocks.push({ type: 'section', text: mrkdwn(truncateEscaped(message.summary, SLACK_LIMITS.sectionText, escapeSlack)) });
  }
  const facts: Array<[string, string]> = [
    ['Status', status],
    ['Severity', severityLabel(message.severity)],
    ['Rule', message.ruleName],
    ['Subjects', String(message.count)],
    ...(message.fields ?? []).map((field): [string, string] => [field.name, field.value]),
  ];
  blocks.push({
    type: 'section',
    fields: facts.slice(0, SLACK_LIMITS.sectionFields).map(([name, value]) => {
      const label = `*${escapeSlack(name)}*\n`;
      return mrkdwn(label + truncateEscaped(value, SLACK_LIMITS.fieldText - label.length, escapeSlack));
    }),
  });
  const { shown, more } = shownSubjects(message);
  if (shown.length > 0) {
    // Each line is bounded so that ten of them and the "more" line stay within one section's 3,000 characters.
    const lineMax = Math.floor((SLACK_LIMITS.sectionText - 40) / shown.length) - 3;
    const lines = shown.map((subject) => {
      const url = linkUrl(subject.url);
      // A link too long for its line is left out rather than cut (a cut URL leads somewhere else).
      const linked = url !== null && url.length + 20 <= lineMax;
      return `• ${linked ? slackLink(url, subject.label, lineMax) : truncateEscaped(subject.label, lineMax, escapeSlack)}`;
    });
    if (more > 0) lines.push(`_and ${more} more_`);
    blocks.push({ type: 'section', text: mrkdwn(lines.join('\n')) });
  }
  const alertUrl = linkUrl(message.url);
  if (alertUrl !== null && alertUrl.length <= SLACK_LIMITS.buttonUrl) {
    blocks.push({
      type: 'actions',
      elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open alert', emoji: false }, url: alertUrl }],
    });
  }
  blocks.push({
    type: 'context',
    elements: [
      mrkdwn(
        truncateEscaped(`${message.ruleName} · level ${message.level} · ${message.occurredAt}`, SLACK_LIMITS.sectionText, escapeSlack),
      ),
    ],
  });
  const fallback = `${status}: ${message.title} (${severityLabel(message.severity)}, ${subjectCount(message.count)})`;
  return { text: truncateEscaped(fallback, SLACK_LIMITS.fallbackText, escapeSlack), blocks: blocks.slice(0, SLACK_LIMITS.blocks) };
}
