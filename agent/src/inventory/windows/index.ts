/**
 * Windows collectors: one run of collect.ps1 feeds all seven sections (starting PowerShell costs more than
 * every query in it), then each section is parsed on its own, so one malformed part fails one section only.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InventorySectionName } from '@opsconductor/contracts/inventory';
import { run } from '../io.ts';
import type { CollectContext, SectionCollectors } from '../types.ts';
import { parseRawOutput, scriptErrors, windowsParsers } from './parse.ts';

export const COLLECT_SCRIPT = fileURLToPath(new URL('./collect.ps1', import.meta.url));
const SCRIPT_TIMEOUT_MS = 180_000;

/**
 * An absolute path, never a PATH search: the agent runs as SYSTEM and must not start a powershell.exe
 * planted in its working directory. A 32-bit Node on 64-bit Windows reaches the 64-bit PowerShell through
 * Sysnative, or registry and WMI reads would see the 32-bit view of the machine.
 */
export function powershellPath(env: NodeJS.ProcessEnv = process.env, arch: string = process.arch): string {
  const root = env.SystemRoot || env.windir || 'C:\\Windows';
  const system = arch === 'ia32' && env.PROCESSOR_ARCHITEW6432 ? 'Sysnative' : 'System32';
  return path.win32.join(root, system, 'WindowsPowerShell', 'v1.0', 'powershell.exe');
}

export async function runCollectScript(ctx: CollectContext): Promise<Record<string, unknown>> {
  const res = await run(powershellPath(), ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', COLLECT_SCRIPT], {
    timeoutMs: SCRIPT_TIMEOUT_MS,
    maxBytes: 64 * 1024 * 1024,
    signal: ctx.signal,
  });
  if (!res) throw new Error('collect.ps1 could not be run, timed out or printed too much');
  if (res.code !== 0) throw new Error(`collect.ps1 exited with code ${res.code}: ${res.stderr.trim().slice(0, 500)}`);
  const raw = parseRawOutput(res.stdout);
  const errors = scriptErrors(raw);
  if (errors.length > 0) ctx.log.debug('collect.ps1 could not collect some parts', { errors });
  return raw;
}

/** Collectors sharing one script run per collection; a new collection (new context) runs it again. */
export function windowsCollectors(): SectionCollectors {
  let cached: { ctx: CollectContext; raw: Promise<Record<string, unknown>> } | undefined;
  const rawFor = (ctx: CollectContext) => {
    if (cached?.ctx !== ctx) cached = { ctx, raw: runCollectScript(ctx) };
    return cached.raw;
  };
  const section =
    <K extends InventorySectionName>(name: K) =>
    async (ctx: CollectContext) =>
      windowsParsers[name](await rawFor(ctx));
  return {
    system: section('system'),
    hardware: section('hardware'),
    directory: section('directory'),
    software: section('software'),
    services: section('services'),
    security: section('security'),
    performance: section('performance'),
  };
}
