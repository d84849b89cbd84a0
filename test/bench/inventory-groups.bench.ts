/**
 * Benchmarks for inventory and groups (prints figures; run with `npm run bench:inventory`):
 *  - ingest of a full 300-package inventory (first report, and a report with changes) and of a delta, each
 *    with the group re-evaluation it implies (one transaction),
 *  - incremental re-evaluation of 50 dynamic groups for one changed device,
 *  - full evaluation of one rule over 10,000 devices,
 *  - the devices list API at 10,000 devices with filters.
 * Uses a real embedded PostgreSQL and the real API in-process (Temporal is not needed).
 */
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startEmbeddedPostgres } from '@opsconductor/db/embedded';
import { migrate } from '@opsconductor/db/migrate';
import type { Rule } from '@opsconductor/contracts/rules';
import { startApiServer } from '../../apps/api/src/server.ts';
import { hashToken } from '../../apps/api/src/lib/auth.ts';
import { freePort } from '../../scripts/lib/temporal.ts';
import { deltaReport, fullReport, sampleSections } from '../support/inventory.ts';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 10_000);
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `p50 ${q(0.5).toFixed(2)} ms  p95 ${q(0.95).toFixed(2)} ms  max ${s[s.length - 1]!.toFixed(2)} ms  (n=${s.length})`;
};
const time = async <T>(fn: () => Promise<T>) => {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
};

const dir = await mkdtemp(join(tmpdir(), 'opsconductor-bench-'));
await chmod(dir, 0o755);
const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), port: await freePort(), database: 'bench' });
await migrate(pg.url);
const api = await startApiServer({ databaseUrl: pg.url, temporalAddress: '127.0.0.1:1', port: 0, logger: pino({ level: 'silent' }) });
const { deps } = api;
const { pool } = deps.db;

try {
  console.log(`# OpsConductor inventory & groups benchmark (${DEVICES} devices)`);
  // --- fleet ----------------------------------------------------------------------------------
  const seedStart = performance.now();
  const ids: string[] = [];
  for (let batch = 0; batch < DEVICES; batch += 1000) {
    const n = Math.min(1000, DEVICES - batch);
    const rows = Array.from({ length: n }, (_, i) => {
      const k = batch + i;
      const windows = k % 3 === 0;
      const sections = sampleSections({
        hostname: `host-${String(k).padStart(5, '0')}`,
        osFamily: windows ? 'windows' : 'linux',
        virtual: k % 4 === 0,
        diskFreePercent: k % 17,
        pendingReboot: k % 9 === 0,
        ip: `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`,
      });
      return { id: randomUUID(), k, sections };
    });
    ids.push(...rows.map((r) => r.id));
    await pool.query(
      `INSERT INTO devices (id, hostname, os_family, os_name, os_version, architecture, ip_addresses, agent_version, secret_hash, last_seen_at, updated_at, manufacturer, model, pending_reboot, rule_facts)
       SELECT id, h, f, n, v, 'x64', ARRAY[ip], '0.1.0', sh, now() - (age || ' days')::interval, now(), m, mo, pr, rf::jsonb
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::bool[], $12::text[])
           AS t(id, h, f, n, v, ip, sh, age, m, mo, pr, rf)`,
      [
        rows.map((r) => r.id),
        rows.map((r) => r.sections.system.hostname),
        rows.map((r) => r.sections.system.osFamily),
        rows.map((r) => r.sections.system.osName),
        rows.map((r) => r.sections.system.osVersion),
        rows.map((r) => r.sections.hardware.networkInterfaces[0]!.ipv4[0]!),
        rows.map((r) => hashToken(r.id)),
        rows.map((r) => String(r.k % 20)),
        rows.map((r) => r.sections.hardware.manufacturer!),
        rows.map((r) => r.sections.hardware.model!),
        rows.map((r) => r.sections.system.pendingReboot),
        rows.map((r) => JSON.stringify(deps.groups.ruleFacts(r.sections))),
      ],
    );
    // 30 packages per device, and firefox on every other one with varying versions.
    await pool.query(
      `INSERT INTO device_software (device_id, name, normalized_name, version, source)
       SELECT d, 'pkg-' || g, 'pkg-' || g, '1.' || g, 'dpkg' FROM unnest($1::uuid[]) d CROSS JOIN generate_series(1, 30) g`,
      [rows.map((r) => r.id)],
    );
    await pool.query(
      `INSERT INTO device_software (device_id, name, normalized_name, version, source)
       SELECT d, 'Mozilla Firefox', 'mozilla firefox', '1' || (k % 30) || '.0.1', 'msi' FROM unnest($1::uuid[], $2::int[]) AS t(d, k) WHERE k % 2 = 0`,
      [rows.map((r) => r.id), rows.map((r) => r.k)],
    );
    await pool.query(
      `INSERT INTO device_tags (device_id, tag) SELECT d, 'ring-' || (k % 4) FROM unnest($1::uuid[], $2::int[]) AS t(d, k)`,
      [rows.map((r) => r.id), rows.map((r) => r.k)],
    );
  }
  await pool.query('ANALYZE');
  console.log(`seeded ${DEVICES} devices in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);

  // --- 50 dynamic groups ----------------------------------------------------------------------
  const rules: Rule[] = [];
  for (let i = 0; i < 50; i++) {
    const variants: Rule[] = [
      { field: 'os.family', op: 'equals', value: i % 2 ? 'windows' : 'linux' },
      {
        all: [
          { field: 'hardware.isVirtual', op: 'equals', value: true },
          { field: 'tags', op: 'contains', value: `ring-${i % 4}` },
        ],
      },
      {
        any: [
          { field: 'performance.minDiskFreePercent', op: 'lt', value: 5 + (i % 10) },
          { field: 'system.pendingReboot', op: 'equals', value: true },
        ],
      },
      { software: { name: 'Mozilla Firefox', match: 'equals', version: { op: 'version_lt', value: `${10 + (i % 20)}.0` } }, present: true },
      { not: { field: 'hostname', op: 'starts_with', value: `host-0${i % 10}` } },
    ];
    rules.push(variants[i % variants.length]!);
  }
  const groupIds: string[] = [];
  for (const [i, rule] of rules.entries()) {
    const g = await deps.db.prisma.deviceGroup.create({ data: { name: `bench group ${i}`, kind: 'dynamic', rule: rule as object } });
    groupIds.push(g.id);
  }
  const full = await time(() => deps.groups.groupChanged(groupIds[3]!, 'bench'));
  console.log(
    `initial full evaluation of one software rule over ${DEVICES} devices, with writes: ${full.ms.toFixed(0)} ms (${full.value.length} members)`,
  );
  for (const id of groupIds) await deps.groups.groupChanged(id, 'bench');

  // --- full evaluation of one rule ------------------------------------------------------------
  for (const [label, rule] of [
    [
      'field rule (os.family = windows AND virtual)',
      {
        all: [
          { field: 'os.family', op: 'equals', value: 'windows' },
          { field: 'hardware.isVirtual', op: 'equals', value: true },
        ],
      },
    ],
    [
      'software rule (Firefox < 20.0)',
      { software: { name: 'Mozilla Firefox', match: 'equals', version: { op: 'version_lt', value: '20.0' } }, present: true },
    ],
  ] as [string, Rule][]) {
    const runs: number[] = [];
    let count = 0;
    for (let i = 0; i < 5; i++) {
      const r = await time(() => deps.groups.matching(rule));
      runs.push(r.ms);
      count = r.value.length;
    }
    console.log(`full evaluation, ${label}, ${DEVICES} devices: ${stats(runs)} → ${count} matches   [target < 1000 ms]`);
  }

  // --- incremental re-evaluation ----------------------------------------------------------------
  await deps.groups.dynamicGroups();
  const incr: number[] = [];
  for (let i = 0; i < 200; i++) incr.push((await time(() => deps.groups.deviceChanged(ids[(i * 37) % ids.length]!, 'bench'))).ms);
  const groups = await deps.groups.dynamicGroups();
  console.log(
    `incremental re-evaluation of ${groups.length} dynamic groups for one device, end to end (load facts from Postgres + evaluate + diff): ${stats(incr)}   [target < 5 ms]`,
  );
  const facts = (
    await deps.groups.loadFacts([ids[7]!], {
      tags: true,
      customFields: true,
      groups: 'all',
      software: [{ name: 'Mozilla Firefox', match: 'equals' }],
    })
  ).get(ids[7]!)!;
  const evalOnly: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const t0 = performance.now();
    for (const g of groups) g.test(facts);
    evalOnly.push(performance.now() - t0);
  }
  console.log(`  of which evaluating the ${groups.length} compiled rules: ${stats(evalOnly)}`);

  const bulk = ids.slice(0, 1000);
  await pool.query(`INSERT INTO device_tags (device_id, tag) SELECT unnest($1::uuid[]), 'bulk'`, [bulk]);
  const bulkRun = await time(() => deps.groups.devicesChanged(bulk, 'bench'));
  console.log(
    `incremental re-evaluation of every dynamic group for 1,000 devices at once (a bulk tag change): ${bulkRun.ms.toFixed(0)} ms`,
  );

  // --- ingest -----------------------------------------------------------------------------------
  const ingestFirst: number[] = [];
  const ingestChanged: number[] = [];
  const ingestDelta: number[] = [];
  for (let i = 0; i < 60; i++) {
    const device = { id: ids[i]!, hostname: `host-${i}` };
    const sections = sampleSections({ hostname: device.hostname, packages: 300 });
    ingestFirst.push((await time(() => deps.services.inventory.ingest({}, device, fullReport(sections)))).ms);
    const changed = structuredClone(sections);
    changed.software.packages = changed.software.packages.map((p, j) => (j % 30 === 0 ? { ...p, version: `${p.version}+1` } : p));
    ingestChanged.push((await time(() => deps.services.inventory.ingest({}, device, fullReport(changed)))).ms);
    const perf = structuredClone(changed);
    perf.performance.cpuLoad1 = 1 + i;
    ingestDelta.push((await time(() => deps.services.inventory.ingest({}, device, deltaReport(changed, perf)))).ms);
  }
  console.log(`ingest, first full report with 300 packages: ${stats(ingestFirst.slice(5))}   [target p95 < 50 ms]`);
  console.log(`ingest, full report with 300 packages, 10 upgraded: ${stats(ingestChanged.slice(5))}   [target p95 < 50 ms]`);
  console.log(`ingest, delta (performance section only): ${stats(ingestDelta.slice(5))}   [target < 10 ms]`);

  // --- devices list API ------------------------------------------------------------------------
  const user = await deps.db.prisma.user.create({ data: { email: 'bench@example.com', name: 'bench', role: 'viewer', passwordHash: 'x' } });
  const token = 'benchsessiontoken0000000000000000';
  await deps.db.prisma.session.create({ data: { id: hashToken(token), userId: user.id, expiresAt: new Date(Date.now() + 3600_000) } });
  for (const [label, query] of [
    ['page 1, sorted by hostname', 'page=1&pageSize=50'],
    ['filter osFamily=windows + tag=ring-1, page 20', 'osFamily=windows&tag=ring-1&page=20&pageSize=50'],
    ['search "host-01" sorted by last seen', 'search=host-01&sort=lastSeenAt&order=desc'],
    [`filter group (${'bench group 0'})`, `groupId=${groupIds[0]}&page=3`],
  ] as const) {
    const runs: number[] = [];
    for (let i = 0; i < 60; i++) {
      runs.push(
        (
          await time(async () => {
            const res = await fetch(`${api.url}/api/v1/devices?${query}`, { headers: { authorization: `Bearer ${token}` } });
            if (res.status !== 200) throw new Error(`${res.status} ${await res.text()}`);
            await res.arrayBuffer();
          })
        ).ms,
      );
    }
    console.log(`GET /api/v1/devices ${label}: ${stats(runs.slice(10))}   [target p95 < 100 ms]`);
  }
} finally {
  await api.close();
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}
