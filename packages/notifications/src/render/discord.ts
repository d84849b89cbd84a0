/**
 * Discord webhook payload (https://discord.com/developers/docs/resources/webhook#execute-webhook) with one embed.
 * Mentions are disabled with `allowed_mentions: { parse: [] }` (nobody is pinged whatever the text says), and
 * untrusted text is markdown-escaped, with `<` escaped so `<@id>`, `<#id>` and `<t:…>` do not render either.
 */
import { kindLabel, normaliseMessage, severityLabel, shownSubjects, type AlertMessage } from '../message.ts';
import { linkUrl, truncate, truncateEscaped } from '../text.ts';
import { escapeMarkdown, markdownUrl } from './markdown.ts';

/** https://discord.com/developers/docs/resources/message#embed-object-embed-limits */
export const DISCORD_LIMITS = {
  content: 2000,
  embedTitle: 256,
  embedDescription: 4096,
  embedFields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footerText: 2048,
  authorName: 256,
  /** Title, description, field names and values, footer text and author name together. */
  embedTotal: 6000,
  /** What this renderer spends on fields at most, leaving the rest of the total to the description. */
  fieldsBudget: 2000,
} as const;

export interface DiscordEmbed {
  title: string;
  description?: string;
  url?: string;
  color: number;
  timestamp: string;
  fields: Array<{ name: string; value: string; inline: boolean }>;
  footer: { text: string };
}

export interface DiscordPayload {
  content?: string;
  embeds: DiscordEmbed[];
  allowed_mentions: { parse: [] };
}

const COLOR = { info: 0x3b82f6, warning: 0xf59e0b, critical: 0xdc2626 } as const;
const RESOLVED_COLOR = 0x16a34a;

/** Markdown-escaped, and `@everyone`/`@here` broken with a zero-width space so they do not even look like mentions. */
export function escapeDiscord(text: string): string {
  return escapeMarkdown(text).replace(/@(everyone|here)/gi, '@\u200b$1');
}

function md(text: string, max: number): string {
  return truncateEscaped(text, max, escapeDiscord);
}

/** The characters that count towards Discord's 6,000 total of one embed. */
export function embedLength(embed: DiscordEmbed): number {
  return (
    embed.title.length +
    (embed.description?.length ?? 0) +
    embed.fields.reduce((sum, field) => sum + field.name.length + field.value.length, 0) +
    embed.footer.text.length
  );
}

export function renderDiscord(input: AlertMessage): DiscordPayload {
  const message = normaliseMessage(input);
  const title = md(message.title, DISCORD_LIMITS.embedTitle);
  const footer = { text: truncate(`OpsConductor · ${kindLabel(message)}`, DISCORD_LIMITS.footerText) };
  const candidates = [
    { name: 'Severity', value: severityLabel(message.severity), inline: true },
    { name: 'Subjects', value: String(message.count), inline: true },
    { name: 'Level', value: String(message.level), inline: true },
    { name: 'Rule', value: md(message.ruleName || '—', DISCORD_LIMITS.fieldValue), inline: false },
    ...(message.fields ?? []).map((field) => ({
      name: md(field.name || '—', DISCORD_LIMITS.fieldName),
      value: md(field.value || '—', DISCORD_LIMITS.fieldValue),
      inline: false,
    })),
  ];
  const fields: DiscordEmbed['fields'] = [];
  let fieldsLength = 0;
  for (const field of candidates.slice(0, DISCORD_LIMITS.embedFields)) {
    const length = field.name.length + field.value.length;
    if (fieldsLength + length > DISCORD_LIMITS.fieldsBudget) break;
    fields.push(field);
    fieldsLength += length;
  }
  const room = Math.min(DISCORD_LIMITS.embedDescription, DISCORD_LIMITS.embedTotal - title.length - fieldsLength - footer.text.length);
  const description = describe(message, room);
  const embed: DiscordEmbed = {
    title,
    ...(description.length > 0 ? { description } : {}),
    color: message.kind === 'resolved' ? RESOLVED_COLOR : COLOR[message.severity],
    timestamp: message.occurredAt,
    fields,
    footer,
  };
  const alertUrl = linkUrl(message.url);
  if (alertUrl !== null) embed.url = alertUrl;
  return { embeds: [embed], allowed_mentions: { parse: [] } };
}

/** The summary, then as many of the shown subjects as fit in `room` characters, and how many more there are. */
function describe(message: AlertMessage, room: number): string {
  const { shown, more } = shownSubjects(message);
  const summary = md(message.summary, shown.length > 0 ? Math.max(room - 1500, Math.floor(room / 2)) : room);
  const lines: string[] = [];
  let left = room - summary.length - (summary.length > 0 ? 2 : 0) - 40; // 40: the "and N more" line
  for (const subject of shown) {
    const url = linkUrl(subject.url);
    const label = md(subject.label, 250);
    // A long link would crowd out the other subjects: show its label alone.
    const line = url === null || url.length > 500 ? `- ${label}` : `- [${label}](${markdownUrl(url)})`;
    if (line.length + 1 > left) break;
    lines.push(line);
    left -= line.length + 1;
  }
  const hidden = more + shown.length - lines.length;
  if (hidden > 0) lines.push(`and ${hidden} more`);
  return [summary, lines.join('\n')].filter((part) => part.length > 0).join('\n\n');
}
