/**
 * How long a full inventory collection takes on this machine, and what it costs in CPU.
 * Run: npx tsx agent/bench/inventory-collect.ts [runs]   (prints figures; asserts nothing)
 */
import { Buffer } from 'node:buffer';
import { inventorySectionNames } from '@opsconductor/contracts/inventory';
import { collectInventoryDetailed, type CollectedInventory } from '../src/inventory/index.ts';

const runs = Math.max(1, Number(process.argv[2] ?? 10));
const results: CollectedInventory[] = [];
const cpuBefore = process.cpuUsage();
for (let i = 0; i < runs; i++) results.push(await collectInventoryDetailed());
const cpu = process.cpuUsage(cpuBefore);

const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return `median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${sorted[sorted.length - 1]} ms`;
};

const last = results[results.length - 1]!;
console.log(`platform ${process.platform}, ${runs} full collections`);
console.log(`wall time: ${stats(results.map((r) => r.durationMs))} (the first one includes module warm-up)`);
console.log(`agent process CPU per collection: ${Math.round((cpu.user + cpu.system) / 1000 / runs)} ms (child processes not included)`);
for (const name of inventorySectionNames) console.log(`  ${name.padEnd(12)} ${stats(results.map((r) => r.sectionDurationsMs[name] ?? 0))}`);
console.log(`failed sections in the last run: ${last.failed.join(', ') || 'none'}`);
console.log(
  `full report size: ${Buffer.byteLength(JSON.stringify(last.sections))} bytes, ${last.sections.software.packages.length} packages, ${last.sections.services.services.length} services`,
);
