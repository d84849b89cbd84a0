/**
 * Microsoft Teams "Workflows" (Power Automate) webhook body: a message with one Adaptive Card 1.4 attachment
 * (https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/cards-reference). TextBlock
 * and FactSet text is a markdown subset, so untrusted text is markdown-escaped; without `msteams.entities` an
 * `<at>` tag is not a mention, and `<` is escaped anyway. Teams refuses payloads over about 28 KB: the card stays far
 * below that (bounded texts, ten subjects), and `renderTeams` checks it.
 */
import { kindLabel, normaliseMessage, severityLabel, shownSubjects, type AlertMessage } from '../message.ts';
import { linkUrl, truncateEscaped } from '../text.ts';
import { escapeMarkdown, markdownUrl } from './markdown.ts';

export const TEAMS_LIMITS = {
  /** Teams' documented message size limit is 28 KB; stay well below it for the envelope Power Automate adds. */
  payloadBytes: 24_000,
  textBlock: 2000,
  factValue: 500,
  subjectLine: 300,
} as const;

export const ADAPTIVE_CARD_SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json';

export type AdaptiveCardElement =
  | {
      type: 'TextBlock';
      text: string;
      wrap: boolean;
      size?: 'Small' | 'Default' | 'Medium' | 'Large';
      weight?: 'Lighter' | 'Default' | 'Bolder';
      color?: 'Default' | 'Good' | 'Warning' | 'Attention' | 'Accent';
      isSubtle?: boolean;
      spacing?: 'Small' | 'Medium';
    }
  | { type: 'FactSet'; facts: Array<{ title: string; value: string }> };

export interface AdaptiveCard {
  $schema: typeof ADAPTIVE_CARD_SCHEMA;
  type: 'AdaptiveCard';
  version: '1.4';
  body: AdaptiveCardElement[];
  actions?: Array<{ type: 'Action.OpenUrl'; title: string; url: string }>;
  msteams?: { width: 'Full' };
}

export interface TeamsPayload {
  type: 'message';
  attachments: Array<{ contentType: 'application/vnd.microsoft.card.adaptive'; contentUrl: null; content: AdaptiveCard }>;
}

const COLOR = { info: 'Accent', warning: 'Warning', critical: 'Attention' } as const;

function md(text: string, max: number): string {
  return truncateEscaped(text, max, escapeMarkdown);
}

export function renderTeams(input: AlertMessage): TeamsPayload {
  const message = normaliseMessage(input);
  const body: AdaptiveCardElement[] = [
    {
      type: 'TextBlock',
      text: md(message.title, TEAMS_LIMITS.textBlock),
      wrap: true,
      size: 'Large',
      weight: 'Bolder',
      color: message.kind === 'resolved' ? 'Good' : COLOR[message.severity],
    },
    { type: 'TextBlock', text: `${kindLabel(message)} · ${severityLabel(message.severity)}`, wrap: true, isSubtle: true, spacing: 'Small' },
  ];
  if (message.summary.length > 0) body.push({ type: 'TextBlock', text: md(message.summary, TEAMS_LIMITS.textBlock), wrap: true });
  body.push({
    type: 'FactSet',
    facts: [
      { title: 'Rule', value: md(message.ruleName, TEAMS_LIMITS.factValue) },
      { title: 'Subjects', value: String(message.count) },
      { title: 'Level', value: String(message.level) },
      { title: 'Occurred', value: message.occurredAt },
      ...(message.fields ?? []).map((field) => ({
        title: md(field.name, TEAMS_LIMITS.factValue),
        value: md(field.value, TEAMS_LIMITS.factValue),
      })),
    ],
  });
  const { shown, more } = shownSubjects(message);
  if (shown.length > 0) {
    const lines = shown.map((subject) => {
      const url = linkUrl(subject.url);
      const label = md(subject.label, TEAMS_LIMITS.subjectLine);
      return url === null ? `- ${label}` : `- [${label}](${markdownUrl(url)})`;
    });
    if (more > 0) lines.push(`- and ${more} more`);
    // Markdown lists need a blank line before them in some clients; one item per line.
    body.push({ type: 'TextBlock', text: lines.join('\n'), wrap: true });
  }
  const card: AdaptiveCard = { $schema: ADAPTIVE_CARD_SCHEMA, type: 'AdaptiveCard', version: '1.4', body, msteams: { width: 'Full' } };
  const alertUrl = linkUrl(message.url);
  if (alertUrl !== null) card.actions = [{ type: 'Action.OpenUrl', title: 'Open alert', url: alertUrl }];
  const payload: TeamsPayload = {
    type: 'message',
    attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }],
  };
  // Bounded texts keep the card under ~15 KB even when every one is at its limit and needs escaping; should that
  // change, drop the longest parts rather than send a card Teams refuses.
  if (Buffer.byteLength(JSON.stringify(payload)) > TEAMS_LIMITS.payloadBytes) {
    card.body = body.slice(0, 2);
  }
  return payload;
}
