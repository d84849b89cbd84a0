/**
 * The real package managers as test oracles: `dpkg --compare-versions` and rpm's Lua `rpm.vercmp`, asked in
 * bulk (one process per batch) so a corpus of hundreds of pairs costs a second or two.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function has(file: string, args: string[]): boolean {
  try {
    execFileSync(file, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const hasDpkg = has('dpkg', ['--version']);
export const hasRpmLua = hasDpkg && has('rpm', ['--eval', '%{lua: print(rpm.vercmp("1","2"))}']);

function withPairsFile<T>(pairs: readonly (readonly [string, string])[], fn: (file: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'oc-versions-'));
  try {
    const file = join(dir, 'pairs.txt');
    writeFileSync(file, pairs.map(([a, b]) => `${a} ${b}\n`).join(''));
    return fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** -1/0/1 per pair, from dpkg itself. */
export function dpkgOracle(pairs: readonly (readonly [string, string])[]): number[] {
  const script = `while read -r a b; do
    if dpkg --compare-versions "$a" lt "$b"; then echo -1
    elif dpkg --compare-versions "$a" eq "$b"; then echo 0
    else echo 1; fi
  done < "$1"`;
  return withPairsFile(pairs, (file) =>
    execFileSync('sh', ['-c', script, 'sh', file], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l !== '')
      .map(Number),
  );
}

/** -1/0/1 per pair, from rpm's `rpm.vercmp` (rpmverCmp on full EVR strings). */
export function rpmOracle(pairs: readonly (readonly [string, string])[]): number[] {
  return withPairsFile(pairs, (file) => {
    const lua = `%{lua: for l in io.lines("${file}") do local a, b = l:match("^(%S+) (%S+)$"); print(rpm.vercmp(a, b) .. ";") end}`;
    // rpm's Lua print() buffers without newlines: separate the answers ourselves.
    return execFileSync('rpm', ['--eval', lua], { encoding: 'utf8' })
      .split(';')
      .filter((l) => l.trim() !== '')
      .map(Number);
  });
}
