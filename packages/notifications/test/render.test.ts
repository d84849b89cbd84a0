/**
 * The renderers produce payloads each platform accepts (checked against its documented format and limits by small
 * validators), and untrusted text cannot inject mentions, links or markup, whatever its length or characters.
 */
import { describe, expect, it } from 'vitest';
import {
  DISCORD_LIMITS,
  SLACK_LIMITS,
  embedLength,
  normaliseMessage,
  renderDiscord,
  renderEmail,
  renderSlack,
  renderTeams,
  renderWebhook,
  safePrefix,
  truncate,
  truncateEscaped,
  escapeSlack,
  InvalidMessageError,
  type AlertMessage,
  type DiscordPayload,
  type SlackPayload,
  type TeamsPayload,
} from '../src/index.ts';
import { HUGE, INJECTION, alertMessage, hostileMessage } from './support/messages.ts';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Every string in a JSON value. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

function expectCleanStrings(payload: unknown) {
  for (const text of strings(payload)) {
    expect(LONE_SURROGATE.test(text), `lone surrogate in ${JSON.stringify(text.slice(0, 80))}`).toBe(false);
    expect(text).not.toContain('\u0000');
  }
}

/** Block Kit as documented (https://docs.slack.dev/reference/block-kit/blocks): types, text lengths, counts. */
function validateSlack(payload: SlackPayload): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, problem: string) => ok || problems.push(problem);
  check(typeof payload.text === 'string' && payload.text.length > 0 && payload.text.length <= 40_000, 'fallback text');
  check(payload.blocks.length >= 1 && payload.blocks.length <= SLACK_LIMITS.blocks, `${payload.blocks.length} blocks`);
  const mrkdwn: string[] = [payload.text];
  for (const block of payload.blocks) {
    switch (block.type) {
      case 'header':
        check(block.text.type === 'plain_text' && block.text.text.length > 0 && block.text.text.length <= 150, 'header text');
        break;
      case 'section':
        check(block.text !== undefined || block.fields !== undefined, 'section without text or fields');
        if (block.text !== undefined) {
          check(block.text.text.length > 0 && block.text.text.length <= 3000, `section text of ${block.text.text.length}`);
          mrkdwn.push(block.text.text);
        }
        if (block.fields !== undefined) {
          check(block.fields.length <= 10, `${block.fields.length} section fields`);
          for (const field of block.fields) {
            check(field.text.length > 0 && field.text.length <= 2000, `field text of ${field.text.length}`);
            mrkdwn.push(field.text);
          }
        }
        break;
      case 'actions':
        check(block.elements.length <= 25, 'action elements');
        for (const button of block.elements) check(button.text.text.length <= 75 && button.url.length <= 3000, 'button');
        break;
      case 'context':
        check(block.elements.length >= 1 && block.elements.length <= 10, 'context elements');
        for (const element of block.elements) {
          check(element.text.length <= 3000, 'context text');
          mrkdwn.push(element.text);
        }
        break;
      default:
        problems.push(`unknown block type ${(block as { type: string }).type}`);
    }
  }
  for (const text of mrkdwn) {
    // Slack's control sequences all start with `<`: the only ones allowed are our own http(s) links.
    for (const match of text.matchAll(/</g)) {
      check(/^<https?:\/\/[^|>\s]+\|[^<>]*>/.test(text.slice(match.index)), `unescaped < in ${text.slice(match.index, match.index + 40)}`);
    }
    check(!/&(?!amp;|lt;|gt;)/.test(text), 'unescaped &');
  }
  return problems;
}

/** Adaptive Card 1.4 as Teams' Workflows webhook takes it: envelope, schema, version, element types, size. */
function validateTeams(payload: TeamsPayload): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, problem: string) => ok || problems.push(problem);
  check(payload.type === 'message', 'type');
  check(payload.attachments.length === 1, 'one attachment');
  const attachment = payload.attachments[0];
  check(attachment?.contentType === 'application/vnd.microsoft.card.adaptive', 'contentType');
  const card = attachment?.content;
  check(card?.$schema === 'http://adaptivecards.io/schemas/adaptive-card.json', 'schema');
  check(card?.type === 'AdaptiveCard' && card.version === '1.4', 'type and version');
  for (const element of card?.body ?? []) {
    if (element.type === 'TextBlock') check(typeof element.text === 'string' && element.text.length > 0, 'TextBlock text');
    else if (element.type === 'FactSet')
      check(
        element.facts.every((f) => typeof f.title === 'string' && typeof f.value === 'string'),
        'facts',
      );
    else problems.push(`unknown element ${(element as { type: string }).type}`);
  }
  for (const action of card?.actions ?? []) check(action.type === 'Action.OpenUrl' && /^https?:\/\//.test(action.url), 'action');
  check(Buffer.byteLength(JSON.stringify(payload)) <= 28_000, `payload of ${Buffer.byteLength(JSON.stringify(payload))} bytes`);
  return problems;
}

/** Discord's embed limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits). */
function validateDiscord(payload: DiscordPayload): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, problem: string) => ok || problems.push(problem);
  check(Array.isArray(payload.allowed_mentions.parse) && payload.allowed_mentions.parse.length === 0, 'allowed_mentions');
  check((payload.content ?? '').length <= 2000, 'content');
  check(payload.embeds.length >= 1 && payload.embeds.length <= 10, 'embed count');
  let total = 0;
  for (const embed of payload.embeds) {
    check(embed.title.length <= 256, `title of ${embed.title.length}`);
    check((embed.description ?? '').length <= 4096, `description of ${(embed.description ?? '').length}`);
    check(embed.fields.length <= 25, `${embed.fields.length} fields`);
    for (const field of embed.fields) {
      check(field.name.length > 0 && field.name.length <= 256, `field name of ${field.name.length}`);
      check(field.value.length > 0 && field.value.length <= 1024, `field value of ${field.value.length}`);
    }
    check(embed.footer.text.length <= 2048, 'footer');
    check(Number.isInteger(embed.color) && embed.color >= 0 && embed.color <= 0xffffff, 'color');
    check(!Number.isNaN(Date.parse(embed.timestamp)), 'timestamp');
    // Counted by hand here, not with the renderer's own embedLength.
    total += embed.title.length + (embed.description ?? '').length + embed.footer.text.length;
    total += embed.fields.reduce((sum, f) => sum + f.name.length + f.value.length, 0);
  }
  check(total <= 6000, `embeds total ${total}`);
  return problems;
}

const inputs: Array<[string, AlertMessage]> = [
  ['a simple alert', alertMessage()],
  ['a resolved alert with no summary or subjects', alertMessage({ kind: 'resolved', summary: '', subjects: [], count: 0 })],
  ['an escalation with fields', alertMessage({ kind: 'escalated', level: 2, fields: [{ name: 'Group', value: 'Berlin' }] })],
  ['hostile text at every limit', hostileMessage()],
  ['a 10,000-character hostname', alertMessage({ title: HUGE, subjects: [{ label: HUGE }], ruleName: HUGE })],
];

describe.each(inputs)('rendering %s', (_name, message) => {
  it('is a valid Slack Block Kit message', () => {
    const payload = renderSlack(message);
    expect(validateSlack(payload)).toEqual([]);
    expectCleanStrings(payload);
  });
  it('is a valid Teams Adaptive Card message', () => {
    const payload = renderTeams(message);
    expect(validateTeams(payload)).toEqual([]);
    expectCleanStrings(payload);
  });
  it('is a valid Discord webhook message', () => {
    const payload = renderDiscord(message);
    expect(validateDiscord(payload)).toEqual([]);
    expect(embedLength(payload.embeds[0]!)).toBeLessThanOrEqual(DISCORD_LIMITS.embedTotal);
    expectCleanStrings(payload);
  });
  it('is a bounded, clean e-mail and webhook body', () => {
    const email = renderEmail(message);
    expect(email.subject).not.toMatch(/[\r\n]/);
    expect(email.subject.length).toBeLessThanOrEqual(250);
    expectCleanStrings(email);
    expectCleanStrings(renderWebhook(message));
  });
});

describe('escaping untrusted text', () => {
  const message = alertMessage({ title: INJECTION, summary: INJECTION, ruleName: INJECTION, subjects: [{ label: INJECTION }] });

  it('Slack: no <!channel>, <@user> or link can be injected into mrkdwn, and mrkdwn is verbatim', () => {
    const payload = renderSlack(message);
    expect(validateSlack(payload)).toEqual([]);
    const section = payload.blocks.find((b) => b.type === 'section' && b.text !== undefined);
    expect(section).toMatchObject({ text: { type: 'mrkdwn', verbatim: true } });
    expect(JSON.stringify(section)).toContain('&lt;!channel&gt;');
    // The header is plain_text, which Slack never parses: the text stays as typed.
    expect(payload.blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text' } });
  });

  it('Slack: a subject link keeps its label escaped and its URL unbreakable', () => {
    const payload = renderSlack(alertMessage({ subjects: [{ label: 'a|b>c', url: 'https://console.example.com/d?x=|>' }] }));
    const list = JSON.stringify(payload.blocks);
    expect(list).toContain('<https://console.example.com/d?x=%7C%3E|a|b&gt;c>');
  });

  it('Slack: javascript: and other non-http links are shown as text', () => {
    const payload = renderSlack(alertMessage({ subjects: [{ label: 'x', url: 'javascript:alert(1)' }], url: 'javascript:alert(1)' }));
    expect(JSON.stringify(payload)).not.toContain('javascript:');
  });

  it('Discord: markdown is escaped, @everyone/@here are broken, <@id> does not render, nobody is pinged', () => {
    const payload = renderDiscord(message);
    const embed = payload.embeds[0]!;
    expect(payload.allowed_mentions).toEqual({ parse: [] });
    expect(embed.title).toContain('\\*\\*bold\\*\\*');
    expect(embed.title).not.toMatch(/@(everyone|here)/);
    expect(embed.title).toContain('@\u200beveryone');
    expect(embed.title).toContain('\\<@U123\\>');
    expect(embed.description).toContain('\\[x\\]\\(https\\://evil\\.example\\)');
  });

  it('Teams: markdown is escaped in text blocks and facts', () => {
    const card = renderTeams(message).attachments[0]!.content;
    const texts = strings(card.body).join('\n');
    expect(texts).not.toContain('**bold**');
    expect(texts).toContain('\\*\\*bold\\*\\*');
    expect(texts).not.toContain('[x](https');
  });

  it('e-mail: the HTML escapes every untrusted text; the plain text keeps it as typed', () => {
    const email = renderEmail(alertMessage({ ...message, summary: '<script>alert(1)</script> "q" \'s\'' }));
    expect(email.html).not.toContain('<script>');
    expect(email.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &quot;q&quot; &#39;s&#39;');
    expect(email.html).toContain('&lt;!channel&gt;');
    expect(email.text).toContain('<script>alert(1)</script>');
  });

  it('e-mail: a title cannot add header lines to the subject', () => {
    const email = renderEmail(alertMessage({ title: 'disk full\r\nBcc: victim@example.com' }));
    expect(email.subject).toBe('[Critical] Opened: disk full Bcc: victim@example.com');
  });

  it('bidi overrides and control characters are removed', () => {
    const normalised = normaliseMessage(alertMessage({ title: 'evil\u202egnp.exe\u0000\u0007' }));
    expect(normalised.title).toBe('evilgnp.exe');
  });
});

describe('grouped alerts', () => {
  const subjects = Array.from({ length: 300 }, (_, i) => ({ label: `device-${i}` }));
  const message = alertMessage({ title: '300 devices offline in group Berlin', subjects, count: 300 });

  it('chat messages and e-mail list ten subjects and "and 290 more"', () => {
    const slack = JSON.stringify(renderSlack(message));
    expect(slack).toContain('device-9');
    expect(slack).not.toContain('device-10');
    expect(slack).toContain('and 290 more');
    expect(renderDiscord(message).embeds[0]!.description).toContain('and 290 more');
    expect(JSON.stringify(renderTeams(message))).toContain('and 290 more');
    expect(renderEmail(message).text).toContain('and 290 more');
  });

  it('a count larger than the subjects carried counts the rest as more', () => {
    const partial = alertMessage({ subjects: subjects.slice(0, 3), count: 5000 });
    expect(JSON.stringify(renderSlack(partial))).toContain('and 4997 more');
  });

  it('the webhook carries every subject and the count', () => {
    const payload = renderWebhook(message);
    expect(payload).toMatchObject({ type: 'alert.opened', timestamp: '2026-12-04T21:00:00.000Z' });
    expect(payload.data.subjects).toHaveLength(300);
    expect(payload.data.count).toBe(300);
  });
});

describe('truncation', () => {
  it('never cuts a surrogate pair', () => {
    const text = 'ab' + '😀'.repeat(10);
    for (let max = 0; max < text.length; max++) {
      expect(LONE_SURROGATE.test(safePrefix(text, max))).toBe(false);
      expect(safePrefix(text, max).length).toBeLessThanOrEqual(max);
      expect(LONE_SURROGATE.test(truncate(text, max))).toBe(false);
      expect(truncate(text, max).length).toBeLessThanOrEqual(max);
    }
    expect(truncate(text, 5)).toBe('ab😀…');
  });

  it('cuts raw text, never an escape sequence, and stays within the limit', () => {
    const text = '&'.repeat(100);
    for (const max of [1, 4, 5, 6, 11, 50, 499]) {
      const cut = truncateEscaped(text, max, escapeSlack);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(cut.replace(/…$/, '')).toMatch(/^(&amp;)*$/);
    }
    expect(truncateEscaped(text, 500, escapeSlack)).toBe('&amp;'.repeat(100));
  });

  it('bounds the title and summary to the message limits', () => {
    const normalised = normaliseMessage(alertMessage({ title: 'x'.repeat(500), summary: 'y'.repeat(5000) }));
    expect(normalised.title).toHaveLength(200);
    expect(normalised.summary).toHaveLength(2000);
  });

  it('refuses a message the caller built wrongly', () => {
    expect(() => normaliseMessage(alertMessage({ occurredAt: 'yesterday' }))).toThrow(InvalidMessageError);
    expect(() => normaliseMessage(alertMessage({ kind: 'exploded' as AlertMessage['kind'] }))).toThrow(InvalidMessageError);
  });
});
