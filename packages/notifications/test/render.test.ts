/**
 * The renderers produce payloads each platform accepts (checked against its documented format and limits by small
 * validators), and untrusted text cannot inject mentions, links or markup, whatever its length or characters.
 */
import { describe, expect, it } from 'vitest';
import {
  DISCORD_LIMITS,
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
} from '../src/index.ts';
import { HUGE, INJECTION, alertMessage, hostileMessage } from './support/messages.ts';
import { LONE_SURROGATE, expectCleanStrings, strings, validateDiscord, validateSlack, validateTeams } from './support/validators.ts';

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
