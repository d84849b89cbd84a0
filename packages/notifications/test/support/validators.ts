/** Small validators of each platform's documented payload format, shared by the renderer and delivery tests. */
import { expect } from 'vitest';
import { SLACK_LIMITS, type DiscordPayload, type SlackPayload, type TeamsPayload } from '../../src/index.ts';

export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Every string in a JSON value. */
export function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

export function expectCleanStrings(payload: unknown) {
  for (const text of strings(payload)) {
    expect(LONE_SURROGATE.test(text), `lone surrogate in ${JSON.stringify(text.slice(0, 80))}`).toBe(false);
    expect(text).not.toContain('\u0000');
  }
}

/** Block Kit as documented (https://docs.slack.dev/reference/block-kit/blocks): types, text lengths, counts. */
export function validateSlack(payload: SlackPayload): string[] {
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
export function validateTeams(payload: TeamsPayload): string[] {
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
export function validateDiscord(payload: DiscordPayload): string[] {
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
