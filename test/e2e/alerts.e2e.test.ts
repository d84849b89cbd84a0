/**
 * Alerting end to end (ADR 25), as separate processes: a real agent is stopped → the `alert-evaluation` schedule
 * (every 5 s here) opens a device-offline alert once the rule's minute has passed → its `alertLifecycle` workflow
 * posts a Block Kit message to a Slack-compatible receiver on loopback → an operator acknowledges it → the agent
 * starts again → the alert resolves by itself and the receiver gets the resolved message.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startStack, type AgentHandle, type Stack } from '../support/stack.ts';
import { waitFor } from '../support/tools.ts';

let stack: Stack;
let agent: AgentHandle;
let receiver: Server;
let receiverUrl: string;
const posts: Array<{ at: number; path: string; body: any }> = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      posts.push({ at: Date.now(), path: req.url ?? '', body: JSON.parse(body) });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  stack = await startStack({
    serviceEnv: {
      NOTIFICATION_ALLOWED_HOSTS: '127.0.0.1',
      CONSOLE_PUBLIC_URL: 'https://console.example.com',
      ALERT_EVALUATION_INTERVAL_SECONDS: '5',
      ALERT_RESOLVE_AFTER_SECONDS: '5',
    },
  });
  agent = await stack.enrollAgent();
  await agent.start();
}, 180_000);

afterAll(async () => {
  await stack?.close();
  await new Promise((r) => receiver?.close(r));
});

/** Every text of a Block Kit message (header, sections, context). */
const blockText = (body: any): string =>
  JSON.stringify(
    (body.blocks as any[]).map((b) => b.text?.text ?? b.elements?.map((e: any) => e.text) ?? b.fields?.map((f: any) => f.text)),
  );

it('a stopped agent opens a device-offline alert, Slack gets it, an operator acknowledges, and it resolves when the agent is back', async () => {
  const channel = await stack.api('POST', '/api/v1/notification-channels', {
    name: 'On-call Slack',
    config: { type: 'slack', webhookUrl: `${receiverUrl}/services/T000/B000/secret` },
  });
  expect(channel.status, JSON.stringify(channel.body)).toBe(201);
  const rule = await stack.api('POST', '/api/v1/alert-rules', {
    name: 'Offline for a minute',
    condition: { type: 'device_offline', minutes: 1 },
    severity: 'critical',
    channelIds: [channel.body.id],
  });
  expect(rule.status, JSON.stringify(rule.body)).toBe(201);
  const device = (await stack.api('GET', `/api/v1/devices/${agent.deviceId}`)).body;

  const stoppedAt = Date.now();
  await agent.stop();
  const activeAlerts = async () => (await stack.api('GET', `/api/v1/alerts?active=true&deviceId=${agent.deviceId}`)).body.items as any[];
  await waitFor('the device-offline alert', async () => (await activeAlerts()).length === 1, 120_000, 1000);
  const [summary] = await activeAlerts();
  const openedAfter = Date.parse(summary.openedAt) - stoppedAt;
  // Not before the rule's minute; within a few evaluation rounds of it.
  expect(openedAfter).toBeGreaterThanOrEqual(60_000);
  expect(openedAfter).toBeLessThan(60_000 + 20_000);
  expect(summary).toMatchObject({
    state: 'open',
    severity: 'critical',
    rule: { id: rule.body.id, type: 'device_offline' },
    subject: { type: 'device', id: agent.deviceId, label: device.hostname },
    workflowId: `alert/${rule.body.id}/${agent.deviceId}`,
  });

  await waitFor('the Slack message', async () => posts.length >= 1, 30_000, 250);
  const opened = posts[0]!;
  expect(opened.path).toBe('/services/T000/B000/secret');
  expect(opened.body.text).toContain(device.hostname);
  expect(blockText(opened.body)).toContain(device.hostname);
  expect(JSON.stringify(opened.body)).toContain(`https://console.example.com/alerts/${summary.id}`);

  const ack = await stack.api('POST', `/api/v1/alerts/${summary.id}/acknowledge`, { comment: 'looking at it' });
  expect(ack.status, JSON.stringify(ack.body)).toBe(200);
  await waitFor(
    'the acknowledgement',
    async () => (await stack.api('GET', `/api/v1/alerts/${summary.id}`)).body.state === 'acknowledged',
    15_000,
    250,
  );
  const again = await stack.api('POST', `/api/v1/alerts/${summary.id}/acknowledge`, {});
  expect(again.status).toBe(409);
  expect(again.body.code).toBe('alert_refused');

  await agent.start();
  await waitFor(
    'the alert to resolve',
    async () => (await stack.api('GET', `/api/v1/alerts/${summary.id}`)).body.state === 'resolved',
    60_000,
    500,
  );
  await waitFor('the resolved message', async () => posts.length >= 2, 30_000, 250);
  expect(blockText(posts[1]!.body)).toMatch(/resolved/i);
  expect(posts).toHaveLength(2);

  const detail = (await stack.api('GET', `/api/v1/alerts/${summary.id}`)).body;
  expect(detail.resolvedBy).toBeNull();
  expect(detail.acknowledgedBy).toBe('admin@example.com');
  expect(detail.temporalUrl).toMatch(new RegExp(`/workflows/${encodeURIComponent(summary.workflowId)}$`));
  const types = detail.timeline.map((e: { type: string }) => e.type);
  expect(types).toEqual(expect.arrayContaining(['opened', 'notified', 'acknowledged', 'resolved', 'closed']));
  expect(types.indexOf('acknowledged')).toBeLessThan(types.indexOf('resolved'));
  expect(detail.deliveries.map((d: { kind: string; status: string; responseCode: number }) => [d.kind, d.status, d.responseCode])).toEqual([
    ['opened', 'delivered', 200],
    ['resolved', 'delivered', 200],
  ]);
}, 240_000);
