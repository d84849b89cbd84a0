import type { AlertMessage } from '../../src/index.ts';

export function alertMessage(overrides: Partial<AlertMessage> = {}): AlertMessage {
  return {
    kind: 'opened',
    severity: 'critical',
    title: 'Device offline: web-01',
    summary: 'web-01 has not checked in for 10 minutes.',
    ruleName: 'Devices offline',
    subjects: [{ label: 'web-01', url: 'https://console.example.com/devices/1' }],
    count: 1,
    url: 'https://console.example.com/alerts/42',
    occurredAt: '2026-12-04T21:00:00.000Z',
    level: 0,
    ...overrides,
  };
}

export const INJECTION = '@everyone @here <!channel> <!here> <@U123> <#C1> **bold** _it_ [x](https://evil.example) `code` <script>&amp;';
/** 10,000 characters of hostname with astral characters (emoji, surrogate pairs) at every cut point and a NUL. */
export const HUGE = ('host-😀-\u0000-𝔘-' + 'a'.repeat(7)).repeat(500).slice(0, 10_000);

/** A message every text of which is at its limit or beyond, hostile, and with astral characters at cut points. */
export function hostileMessage(): AlertMessage {
  const subjects = Array.from({ length: 300 }, (_, i) => ({
    label: `${INJECTION} ${HUGE}`,
    url: `https://console.example.com/devices/${i}?q=${'|>)'.repeat(800)}`,
  }));
  return alertMessage({
    title: `${INJECTION} ${'😀'.repeat(300)}`,
    summary: `${INJECTION}\n${'*_~`|<>&'.repeat(400)}${'😀'.repeat(2000)}`,
    ruleName: `${INJECTION} ${HUGE}`,
    subjects,
    count: 300,
    fields: Array.from({ length: 40 }, (_, i) => ({ name: `${INJECTION} ${i} ${HUGE}`, value: `${INJECTION} ${HUGE}` })),
  });
}
