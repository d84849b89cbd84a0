/**
 * Every agent route and the agent channel's calls, fed what a broken or hostile agent can send: NUL, unpaired
 * surrogates, exit codes of every platform and beyond, oversized and malformed values, arbitrary JSON. Nothing
 * may answer 5xx (an agent retries 5xx forever), and what is valid must be stored — the clean data around the bad
 * parts too.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelOps } from '@opsconductor/contracts/agent-channel';
import { AgentChannel } from '../../agent/src/channel.ts';
import { EXIT_CODE_MAX, EXIT_CODE_MIN, MAX_OUTPUT_CHUNK_BYTES } from '@opsconductor/contracts/agent-protocol';
import { inventorySectionNames } from '@opsconductor/contracts/inventory';
import { sectionHash } from '@opsconductor/contracts/inventory-hash';
import { sanitizeText } from '@opsconductor/contracts/text';
import { startTestApi, type TestApi } from '../support/api.ts';
import { queueCommand } from '../support/commands.ts';
import { fullReport, sampleSections } from '../support/inventory.ts';

let t: TestApi;
let admin: string;
let device: { deviceId: string; deviceSecret: string };
let enrollmentToken: string;

beforeAll(async () => {
  t = await startTestApi({ pollWaitSeconds: 0 });
  admin = await t.tokenFor('admin');
  enrollmentToken = await t.createEnrollmentToken(admin, { maxUses: 10_000 });
  device = await t.enrollDevice(enrollmentToken, 'fuzzed');
});
afterAll(() => t?.close());

const RUNS = { numRuns: 40 };

/** Any UTF-16 code units, with NUL and unpaired surrogates made likely. */
const hostileText = (maxLength = 60) =>
  fc
    .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.constantFrom('\0', '\uD800', '\uDFFF', '\uDBFF\uD800', 'ok', '\n')), {
      maxLength: Math.ceil(maxLength / 4),
    })
    .map((parts) => parts.join('').slice(0, maxLength));
const anyJson = fc.jsonValue({ maxDepth: 3 });

async function send(path: string, body: unknown, method = 'POST') {
  const res = await t.request(path, { method, headers: { authorization: `Bearer ${device.deviceSecret}` }, json: body });
  expect(res.status, `${method} ${path} ${JSON.stringify(body)?.slice(0, 300)}`).toBeLessThan(500);
  return res;
}

const facts = (hostname: string, text: string) => ({
  hostname,
  osFamily: 'linux',
  osName: text,
  osVersion: text.slice(0, 100),
  architecture: text.slice(0, 50),
  ipAddresses: [text.slice(0, 64)],
  agentVersion: text.slice(0, 50),
});

describe('agent routes under hostile input', () => {
  it('output: any text is stored as its UTF-8 and read back, NUL included; bad chunks are 4xx', async () => {
    const cmd = await queueCommand(t.database.db, device.deviceId);
    let seq = 0;
    await fc.assert(
      fc.asyncProperty(hostileText(200), async (text) => {
        const data = `clean ${seq}\n${text}\nclean after\n`;
        const res = await send(`/agent/v1/commands/${cmd.id}/output`, { stream: 'stdout', seq, data });
        expect(res.status).toBe(200);
        const row = await t.database.db.prisma.outputChunk.findFirstOrThrow({ where: { commandId: cmd.id, stream: 'stdout', seq } });
        expect(Buffer.from(row.data)).toEqual(Buffer.from(data, 'utf8'));
        seq++;
      }),
      RUNS,
    );
    const page = (await (await t.request(`/api/v1/job-runs/${cmd.jobRunDevice.jobRunId}/output?limit=5000`, { token: admin })).json()) as {
      items: { data: string }[];
    };
    expect(page.items).toHaveLength(seq);
    for (const [i, item] of page.items.entries())
      expect(item.data.startsWith(`clean ${i}\n`) && item.data.endsWith('\nclean after\n')).toBe(true);

    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            stream: fc.oneof(fc.constantFrom('stdout', 'stderr'), hostileText(10)),
            seq: fc.oneof(fc.integer(), fc.double(), fc.constant(2 ** 31), fc.constant(Number.MAX_SAFE_INTEGER)),
            encoding: fc.oneof(fc.constantFrom('utf8', 'base64'), anyJson),
            data: fc.oneof(hostileText(), anyJson),
          },
          { requiredKeys: [] },
        ),
        async (body) => void (await send(`/agent/v1/commands/${cmd.id}/output`, body)),
      ),
      RUNS,
    );
    // Over the byte limit once encoded: refused, never a database error.
    expect(
      (await send(`/agent/v1/commands/${cmd.id}/output`, { stream: 'stderr', seq: 0, data: '\uD800'.repeat(MAX_OUTPUT_CHUNK_BYTES) }))
        .status,
    ).toBe(413);
  });

  it('result: every exit code in range is stored exactly, others are a 400; error text is sanitized', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.integer({ min: EXIT_CODE_MIN, max: EXIT_CODE_MAX }),
          fc.constantFrom(3221225477, 4294967295, -1073741819, EXIT_CODE_MIN, EXIT_CODE_MAX),
        ),
        hostileText(),
        async (exitCode, error) => {
          const cmd = await queueCommand(t.database.db, device.deviceId);
          const now = new Date().toISOString();
          const res = await send(`/agent/v1/commands/${cmd.id}/result`, {
            status: 'failed',
            exitCode,
            error,
            startedAt: now,
            finishedAt: now,
            durationMs: 5,
          });
          expect(res.status).toBe(200);
          const target = await t.database.db.prisma.jobRunDevice.findUniqueOrThrow({ where: { id: cmd.jobRunDeviceId } });
          expect(target.exitCode).toBe(BigInt(exitCode));
          expect(target.errorMessage).toBe(sanitizeText(error));
          // A late duplicate is still recorded, not an error.
          expect(
            (
              await send(`/agent/v1/commands/${cmd.id}/result`, {
                status: 'failed',
                exitCode,
                startedAt: now,
                finishedAt: now,
                durationMs: 5,
              })
            ).status,
          ).toBe(200);
        },
      ),
      { numRuns: 25 },
    );

    const cmd = await queueCommand(t.database.db, device.deviceId);
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            status: fc.oneof(fc.constantFrom('succeeded', 'failed', 'timed_out', 'cancelled'), hostileText(10)),
            exitCode: fc.oneof(
              fc.constant(null),
              fc.constant(EXIT_CODE_MAX + 1),
              fc.constant(EXIT_CODE_MIN - 1),
              fc.double(),
              fc.integer({ min: -(2 ** 53), max: 2 ** 53 }),
            ),
            error: fc.oneof(hostileText(5000), anyJson),
            startedAt: fc.oneof(
              fc.constantFrom('0000-01-01T00:00:00Z', '9999-12-31T23:59:59+14:00', '2026-02-30T00:00:00Z'),
              hostileText(30),
              fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            ),
            finishedAt: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            durationMs: fc.oneof(fc.integer(), fc.constant(2 ** 31), fc.double()),
          },
          { requiredKeys: [] },
        ),
        async (body) => void (await send(`/agent/v1/commands/${cmd.id}/result`, body)),
      ),
      RUNS,
    );
  });

  it('start, heartbeat and poll: malformed values are 4xx', async () => {
    const cmd = await queueCommand(t.database.db, device.deviceId);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          anyJson,
          fc.record({
            startedAt: fc.oneof(
              hostileText(40),
              fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            ),
          }),
        ),
        async (body) => {
          await send(`/agent/v1/commands/${cmd.id}/start`, body);
          await send(`/agent/v1/commands/${cmd.id}/heartbeat`, body);
        },
      ),
      RUNS,
    );
    // Query bytes as sent on the wire, including ones that are not UTF-8 (%FF, an encoded surrogate).
    const percentEncoded = (s: string) => [...Buffer.from(s)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    await fc.assert(
      fc.asyncProperty(hostileText(20), fc.constantFrom('', '%FF', '%ED%A0%80', '%00', '%'), async (wait, raw) => {
        await send(`/agent/v1/commands?wait=${percentEncoded(wait)}${raw}`, undefined, 'GET');
      }),
      RUNS,
    );
  });

  it('enroll and check-in: facts with NUL and unpaired surrogates are stored sanitized', async () => {
    await fc.assert(
      fc.asyncProperty(hostileText(200), async (text) => {
        const hostname = `h${text}`.slice(0, 255);
        const res = await send('/agent/v1/checkin', { facts: facts(hostname, text) });
        expect(res.status).toBe(200);
        const stored = await t.database.db.prisma.device.findUniqueOrThrow({ where: { id: device.deviceId } });
        expect(stored).toMatchObject({ hostname: sanitizeText(hostname), osName: sanitizeText(text) });
      }),
      RUNS,
    );
    await fc.assert(
      fc.asyncProperty(hostileText(40), anyJson, async (text, junk) => {
        const enrolled = await send('/agent/v1/enroll', { enrollmentToken, facts: facts(`e${text}`, text), protocolVersion: 1 });
        expect(enrolled.status).toBe(201);
        await send('/agent/v1/enroll', { enrollmentToken, facts: junk, protocolVersion: 2 ** 31 });
        await send('/agent/v1/checkin', { facts: junk });
      }),
      { numRuns: 15 },
    );
  });

  it('protocol 2 fields: hostile capabilities, boot IDs, protocol versions and enrollment IDs are 4xx or stored sanitized; file downloads of junk are 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        hostileText(100),
        fc.array(hostileText(100), { maxLength: 120 }),
        fc.oneof(fc.integer({ min: -(2 ** 53), max: 2 ** 53 }), fc.constant(2 ** 31), anyJson),
        anyJson,
        async (text, capabilities, protocolVersion, junk) => {
          const res = await send('/agent/v1/checkin', { facts: facts('protocol-2', text), protocolVersion, capabilities, bootId: text });
          if (res.status === 200) {
            const stored = await t.database.db.prisma.device.findUniqueOrThrow({ where: { id: device.deviceId } });
            expect(stored.bootId).toBe(sanitizeText(text));
          }
          await send('/agent/v1/checkin', { facts: facts('protocol-2', text), capabilities: junk, bootId: junk });
          await send('/agent/v1/enroll', { enrollmentToken, facts: facts(`e${text}`, text), enrollmentId: junk });
          expect(
            (await send(`/agent/v1/files/${Buffer.from(text).toString('hex').slice(0, 70) || 'x'}`, undefined, 'GET')).status,
          ).toBeGreaterThanOrEqual(400);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('inventory: strings with NUL and unpaired surrogates are stored sanitized; the report is never lost', async () => {
    await fc.assert(
      fc.asyncProperty(hostileText(200), async (text) => {
        const sections = sampleSections({ hostname: `inv${text}`.slice(0, 255), packages: 3 });
        sections.software.packages.push({
          name: `p${text}`.slice(0, 300),
          version: text.slice(0, 200),
          architecture: null,
          vendor: text.slice(0, 300),
          installDate: text.slice(0, 40),
          source: 'other',
        });
        sections.security.localAdmins.push(text.slice(0, 300));
        sections.hardware.manufacturer = text.slice(0, 255);
        const res = await send('/agent/v1/inventory', fullReport(sections));
        expect(res.status).toBe(200);
        const stored = await t.database.db.prisma.device.findUniqueOrThrow({ where: { id: device.deviceId } });
        expect(stored.hostname).toBe(sanitizeText(sections.system.hostname));
        expect(stored.manufacturer).toBe(sanitizeText(text.slice(0, 255)));
        const detail = await t.request(`/api/v1/devices/${device.deviceId}`, { token: admin });
        expect(detail.status).toBe(200);
        expect(
          ((await detail.json()) as { inventory: { security: { localAdmins: string[] } } }).inventory.security.localAdmins.at(-1),
        ).toBe(sanitizeText(text.slice(0, 300)));
        expect(
          (
            await t.request(
              `/api/v1/devices/${device.deviceId}/software?search=${encodeURIComponent(sanitizeText(`p${text}`).slice(0, 200))}`,
              { token: admin },
            )
          ).status,
        ).toBe(200);
      }),
      { numRuns: 25 },
    );

    await fc.assert(
      fc.asyncProperty(anyJson, fc.constantFrom(...inventorySectionNames), async (junk, section) => {
        await send('/agent/v1/inventory', junk);
        const sections = sampleSections({ packages: 1 }) as Record<string, unknown>;
        sections[section] = junk;
        await send('/agent/v1/inventory', {
          mode: 'full',
          collectedAt: '0000-01-01T00:00:00Z',
          sections,
          hashes: Object.fromEntries(inventorySectionNames.map((n) => [n, sectionHash(sections[n] as never)])),
        });
      }),
      RUNS,
    );
  });

  it('channel calls: any body or command ID for any op is answered 4xx or stored, never 5xx, and the channel stays open', async () => {
    const cmd = await queueCommand(t.database.db, device.deviceId);
    const channel = new AgentChannel({ serverUrl: t.url, authorization: `Bearer ${device.deviceSecret}`, userAgent: 'fuzz' });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...channelOps),
          fc.oneof(fc.constant(undefined), fc.constant(cmd.id), fc.uuid()),
          fc.oneof(
            anyJson,
            fc.record({ wait: fc.integer() }),
            fc.record({ startedAt: hostileText(40) }),
            fc.record({ stream: fc.constantFrom('stdout', 'stderr'), seq: fc.integer(), data: hostileText(100) }),
          ),
          async (op, commandId, body) => {
            const reply = await channel.call(op, commandId, body, 10_000);
            expect(reply.status, `${op} ${commandId} ${JSON.stringify(body)?.slice(0, 300)}`).toBeLessThan(500);
          },
        ),
        RUNS,
      );
    } finally {
      channel.dispose();
    }
  });
});
