/**
 * The real CLI writing a large inventory into a real pipe: the reader gets every byte, and a reader that
 * closes early (`| head -c 100`) makes the CLI exit 1 with one line on stderr, never a stack trace.
 * A stand-in `dpkg-query` first on PATH makes the software section more than 1 MB.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SoftwareSection } from '@opsconductor/contracts/inventory';
import { EXIT_ERROR, EXIT_OK } from '../src/cli.ts';
import { spawnCli, type CliProcess } from './support/cli-process.ts';
import { tempDir } from './support/util.ts';

vi.setConfig({ testTimeout: 60_000 });

const PACKAGES = 8000;
const teardown: (() => void)[] = [];
afterEach(() => {
  for (const fn of teardown.splice(0)) fn();
});

/** A PATH whose dpkg-query lists PACKAGES installed packages. */
function largeInventoryPath(): string {
  const { dir, cleanup } = tempDir();
  teardown.push(cleanup);
  const tool = path.join(dir, 'dpkg-query');
  writeFileSync(
    tool,
    `#!/bin/sh\nexec awk 'BEGIN { for (i = 0; i < ${PACKAGES}; i++) printf "pkg-%05d\\t1.0.%d-1\\tamd64\\tA Package Maintainer With A Long Name <maintainer-%05d@packages.example.org>\\tii \\n", i, i, i }'\n`,
  );
  chmodSync(tool, 0o755);
  return `${dir}${path.delimiter}${process.env.PATH ?? ''}`;
}

function inventory(): CliProcess & { closed: Promise<void> } {
  const cli = spawnCli(['inventory', '--section', 'software'], { PATH: largeInventoryPath() });
  teardown.push(() => void cli.child.kill('SIGKILL'));
  const closed = new Promise<void>((resolve) => cli.child.once('close', () => resolve()));
  return { ...cli, closed };
}

describe('cli output through a pipe', () => {
  it('delivers the whole JSON to a slow reader before exiting', async () => {
    const cli = inventory();
    // Read nothing for a while: the pipe buffer fills and the CLI has most of its output still queued.
    cli.child.stdout!.pause();
    await new Promise((r) => setTimeout(r, 1000));
    cli.child.stdout!.resume();
    const { code } = await cli.exited;
    await cli.closed;
    expect(Buffer.byteLength(cli.stdout())).toBeGreaterThan(1024 * 1024);
    const section = JSON.parse(cli.stdout()) as SoftwareSection;
    expect(section.packages).toHaveLength(PACKAGES);
    expect(section.packages.at(-1)?.name).toBe(`pkg-${String(PACKAGES - 1).padStart(5, '0')}`);
    expect(code).toBe(EXIT_OK);
  });

  it('exits 1 with a one-line error when the reader closes the pipe early', async () => {
    const cli = inventory();
    const stdout = cli.child.stdout!;
    await new Promise<void>((resolve) => stdout.once('data', () => resolve()));
    stdout.destroy(); // what `head -c 100` does once it has its bytes
    const { code, signal } = await cli.exited;
    await cli.closed;
    expect({ code, signal }).toEqual({ code: EXIT_ERROR, signal: null });
    expect(cli.stderr()).toBe('error: output incomplete: the reader closed the pipe\n');
  });
});
