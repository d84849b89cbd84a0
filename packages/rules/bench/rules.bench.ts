/**
 * Micro-benchmark of the rules engine: `npx tsx packages/rules/bench/rules.bench.ts`.
 * Prints: compile time of 50 rules; 50 rules against one device (median/p95 over 1,000 runs); one rule
 * against 10,000 generated devices. Deterministic inputs (seeded PRNG), so runs are comparable.
 */
import type { Rule } from '@opsconductor/contracts/rules';
import { builtInGroups } from '../src/built-in.ts';
import { compileRule, type Predicate } from '../src/evaluate.ts';
import { factsFromDevice, type DeviceFacts, type DeviceFactsInput } from '../src/facts.ts';
import { validateRule } from '../src/validate.ts';

// ---- deterministic inputs ----------------------------------------------------------------------

function prng(seed: number): () => number {
  // mulberry32
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(42);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

const GROUPS = ['6f1c2a4e-8d2b-4c1a-9e7f-0a1b2c3d4e5f', 'a3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d'];
const customFields = new Map([
  ['ring', { type: 'enum' as const, enumValues: ['pilot', 'broad', 'late'] }],
  ['rack_units', { type: 'number' as const, enumValues: [] }],
]);
const PACKAGES = [
  'Google Chrome',
  'Mozilla Firefox',
  '7-Zip',
  'openssl',
  'python3',
  'curl',
  'Microsoft Edge',
  'Zoom',
  'Slack',
  'VLC media player',
];

const leaves: (() => Rule)[] = [
  () => ({ field: 'os.family', op: 'equals', value: pick(['windows', 'linux']) }),
  () => ({
    field: 'os.version',
    op: pick(['version_gte', 'version_lt'] as const),
    value: pick(['10.0.22000', '10.0.19045', '12', '22.04']),
  }),
  () => ({ field: 'hostname', op: pick(['starts_with', 'contains', 'ends_with'] as const), value: pick(['web', 'db-', '.corp', 'LT-']) }),
  () => ({ field: 'hostname', op: 'regex', value: pick(['^web-\\d+$', '^(lt|dt)-\\d{4}$', 'srv']) }),
  () => ({ field: 'tags', op: pick(['contains', 'not_contains'] as const), value: pick(['finance', 'kiosk', 'db', 'retired']) }),
  () => ({ field: 'hardware.memoryBytes', op: pick(['gt', 'lt'] as const), value: int(4, 64) * 2 ** 30 }),
  () => ({ field: 'performance.minDiskFreePercent', op: 'lt', value: int(5, 25) }),
  () => ({ field: 'hardware.isVirtual', op: 'equals', value: rand() < 0.5 }),
  () => ({ field: 'device.lastSeenAgeDays', op: 'gt', value: int(1, 30) }),
  () => ({ field: 'hardware.chassisType', op: 'in', value: ['laptop', 'desktop'] }),
  () => ({ field: 'network.ipAddresses', op: 'contains', value: `10.0.${int(0, 3)}.${int(1, 50)}` }),
  () => ({ field: 'customFields.ring', op: 'in', value: ['pilot', 'broad'] }),
  () => ({ field: 'customFields.rack_units', op: 'gte', value: 2 }),
  () => ({
    software: {
      name: pick(PACKAGES),
      match: 'equals',
      ...(rand() < 0.5 ? { version: { op: 'version_lt' as const, value: pick(['120', '3.0.11', '23.01']) } } : {}),
    },
    present: rand() < 0.7,
  }),
  () => ({ software: { name: pick(['chrome', 'ssl', 'python']), match: pick(['contains', 'starts_with'] as const) }, present: true }),
  () => ({ memberOf: pick(GROUPS) }),
];

function generatedRule(depth = 0): Rule {
  const r = rand();
  if (depth >= 3 || r < 0.4) return pick(leaves)();
  const kids = Array.from({ length: int(2, 4) }, () => generatedRule(depth + 1));
  return r < 0.7 ? { all: kids } : r < 0.9 ? { any: kids } : { not: kids[0]! };
}

function generatedDevice(i: number, softwareCount: number): DeviceFacts {
  const windows = rand() < 0.6;
  const now = new Date('2025-03-10T12:00:00Z');
  const input: DeviceFactsInput = {
    device: {
      hostname: windows ? `LT-${String(i).padStart(4, '0')}` : `web-${i}`,
      osFamily: windows ? 'windows' : 'linux',
      osName: windows
        ? pick(['Windows 11 Pro', 'Windows 10 Enterprise', 'Windows Server 2022 Standard'])
        : 'Debian GNU/Linux 12 (bookworm)',
      osVersion: windows ? pick(['10.0.22631', '10.0.19045', '10.0.20348']) : '12',
      architecture: pick(['x64', 'arm64']),
      ipAddresses: [`10.0.${int(0, 3)}.${int(1, 250)}`],
      agentVersion: '1.4.0',
      lastSeenAt: rand() < 0.9 ? new Date(now.getTime() - int(0, 20 * 86_400) * 1000) : null,
      enrolledAt: new Date('2024-01-01T00:00:00Z'),
    },
    sections: {
      hardware: {
        manufacturer: pick(['LENOVO', 'Dell Inc.', 'QEMU']),
        model: 'x',
        serialNumber: null,
        systemUuid: null,
        chassisType: pick(['laptop', 'desktop', 'server', 'other'] as const),
        biosVendor: null,
        biosVersion: null,
        biosDate: null,
        firmwareType: 'uefi',
        cpu: { model: null, cores: pick([2, 4, 8, 16]), threads: null, sockets: null },
        memoryBytes: pick([8, 16, 32, 64]) * 2 ** 30,
        disks: [],
        filesystems: [{ mount: '/', device: null, fsType: 'ext4', sizeBytes: 100e9, freeBytes: int(1, 90) * 1e9 }],
        networkInterfaces: [],
        virtualization: { kind: pick(['physical', 'kvm', 'hyperv'] as const), detail: null },
      },
    },
    tags: rand() < 0.3 ? [pick(['finance', 'kiosk', 'db', 'retired'])] : [],
    customFields: { ring: pick(['pilot', 'broad', 'late']), rack_units: int(0, 4) },
    groups: rand() < 0.5 ? [pick(GROUPS)] : [],
    software: Array.from({ length: softwareCount }, (_, k) => ({
      name: k < PACKAGES.length ? PACKAGES[k]! : `package-${k}`,
      version: `${int(1, 130)}.${int(0, 9)}.${int(0, 99)}`,
    })),
  };
  return factsFromDevice(input, now);
}

// ---- measurement -------------------------------------------------------------------------------

const micros = (ns: bigint) => Number(ns) / 1000;
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const fmt = (x: number, digits = 1) => x.toFixed(digits);

function timeNs(fn: () => void): bigint {
  const t0 = process.hrtime.bigint();
  fn();
  return process.hrtime.bigint() - t0;
}

const rules: Rule[] = [...builtInGroups.map((g) => g.rule)];
while (rules.length < 50) rules.push(generatedRule());
for (const [i, r] of rules.entries()) {
  const result = validateRule(r, { customFields, groupIds: new Set(GROUPS) });
  if (!result.ok) throw new Error(`benchmark rule ${i} is invalid: ${JSON.stringify(result.errors)}`);
}
const nodeCount = (r: Rule): number =>
  'all' in r
    ? 1 + r.all.reduce((n, c) => n + nodeCount(c), 0)
    : 'any' in r
      ? 1 + r.any.reduce((n, c) => n + nodeCount(c), 0)
      : 'not' in r
        ? 1 + nodeCount(r.not)
        : 1;

console.log(
  `rules engine micro-benchmark (node ${process.version}, ${rules.length} rules, ${rules.reduce((n, r) => n + nodeCount(r), 0)} nodes in total)`,
);

// 1. validate + compile 50 rules
{
  const compileRuns: number[] = [];
  const validateRuns: number[] = [];
  for (let i = 0; i < 200; i++) {
    compileRuns.push(micros(timeNs(() => rules.forEach((r) => compileRule(r)))));
    validateRuns.push(micros(timeNs(() => rules.forEach((r) => validateRule(r, { customFields })))));
  }
  const c = compileRuns.slice(20).sort((a, b) => a - b);
  const v = validateRuns.slice(20).sort((a, b) => a - b);
  console.log(
    `compile 50 rules:          first ${fmt(compileRuns[0]!)} µs, median ${fmt(quantile(c, 0.5))} µs, p95 ${fmt(quantile(c, 0.95))} µs`,
  );
  console.log(
    `validate 50 rules:         first ${fmt(validateRuns[0]!)} µs, median ${fmt(quantile(v, 0.5))} µs, p95 ${fmt(quantile(v, 0.95))} µs`,
  );
}

// 2. 50 rules against one device, 1,000 repetitions: with every installed package (1,500, as the
//    incremental per-device path loads them) and with only the prefetched ones the rules name.
for (const packages of [1500, PACKAGES.length]) {
  const compiled: Predicate[] = rules.map((r) => compileRule(r));
  const device = generatedDevice(1, packages);
  let sink = 0;
  const cold = micros(timeNs(() => compiled.forEach((p) => (sink += p(device) ? 1 : 0)))); // builds the software index
  for (let i = 0; i < 200; i++) compiled.forEach((p) => (sink += p(device) ? 1 : 0)); // warm-up
  const runs: number[] = [];
  for (let i = 0; i < 1000; i++) runs.push(micros(timeNs(() => compiled.forEach((p) => (sink += p(device) ? 1 : 0)))));
  runs.sort((a, b) => a - b);
  console.log(
    `50 rules × 1 device:       median ${fmt(quantile(runs, 0.5), 2)} µs, p95 ${fmt(quantile(runs, 0.95), 2)} µs (1,000 runs, ${packages} packages; first, cold: ${fmt(cold)} µs) [${sink}]`,
  );
}

// 3. one rule against 10,000 devices (software prefetched: only the packages the rules name)
{
  const devices = Array.from({ length: 10_000 }, (_, i) => generatedDevice(i, int(0, PACKAGES.length)));
  const rule: Rule = {
    all: [
      { field: 'os.family', op: 'equals', value: 'windows' },
      { field: 'os.version', op: 'version_gte', value: '10.0.22000' },
      {
        any: [
          { field: 'tags', op: 'not_contains', value: 'retired' },
          { field: 'hostname', op: 'regex', value: '^lt-\\d{4}$' },
        ],
      },
      { software: { name: 'Google Chrome', match: 'equals', version: { op: 'version_lt', value: '120' } }, present: true },
    ],
  };
  const p = compileRule(rule);
  let matches = 0;
  for (let i = 0; i < 3; i++) for (const d of devices) p(d); // warm-up
  const runs: number[] = [];
  for (let i = 0; i < 20; i++) {
    matches = 0;
    runs.push(micros(timeNs(() => devices.forEach((d) => (matches += p(d) ? 1 : 0)))));
  }
  runs.sort((a, b) => a - b);
  const median = quantile(runs, 0.5);
  console.log(
    `1 rule × 10,000 devices:   median ${fmt(median / 1000, 2)} ms (${fmt((median * 1000) / 10_000, 0)} ns/device), p95 ${fmt(quantile(runs, 0.95) / 1000, 2)} ms; ${matches} matches`,
  );

  const all = rules.map((r) => compileRule(r));
  const t = micros(timeNs(() => all.forEach((q) => devices.forEach((d) => q(d)))));
  console.log(`50 rules × 10,000 devices: ${fmt(t / 1000, 1)} ms`);
}
