import { afterEach, describe, expect, it, vi } from 'vitest';
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { AlreadyStartedError, Journal, entryState, JOURNAL_RETENTION_MS } from '../src/journal.ts';
import type { CommandResult } from '@opsconductor/contracts/agent-protocol';
import { tempDir } from './support/util.ts';

vi.setConfig({ testTimeout: 30_000 });

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));
function stateDir() {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  return dir;
}

const result = (at: Date): CommandResult => ({
  status: 'succeeded',
  exitCode: 0,
  startedAt: at.toISOString(),
  finishedAt: at.toISOString(),
  durationMs: 0,
});
const future = () => new Date(Date.now() + 3600_000).toISOString();

describe('Journal', () => {
  it('persists every state transition across reopen', () => {
    const dir = stateDir();
    const j1 = Journal.open(dir);
    j1.markReceived('a', future());
    j1.markReceived('b', future());
    j1.markStarted('b', new Date());
    j1.markReceived('c', future());
    j1.markStarted('c', new Date());
    j1.markFinished('c', result(new Date()));
    j1.markReceived('d', future());
    j1.markStarted('d', new Date());
    j1.markFinished('d', result(new Date()));
    j1.markReported('d', 'delivered');
    j1.close();

    const j2 = Journal.open(dir);
    expect(['a', 'b', 'c', 'd'].map((id) => entryState(j2.get(id)!))).toEqual(['received', 'started', 'finished', 'reported']);
    expect(
      j2
        .unreported()
        .map((e) => e.id)
        .sort(),
    ).toEqual(['b', 'c']);
    j2.close();
  });

  it('refuses to start a command twice, also after a reopen', () => {
    const dir = stateDir();
    const j1 = Journal.open(dir);
    j1.markReceived('x', future());
    j1.markStarted('x', new Date());
    expect(() => j1.markStarted('x', new Date())).toThrow(AlreadyStartedError);
    j1.close();
    const j2 = Journal.open(dir);
    expect(() => j2.markStarted('x', new Date())).toThrow(AlreadyStartedError);
    j2.close();
  });

  it('survives a torn last line from a crash mid-append', () => {
    const dir = stateDir();
    const j1 = Journal.open(dir);
    j1.markReceived('x', future());
    j1.markStarted('x', new Date());
    j1.close();
    appendFileSync(path.join(dir, 'journal.jsonl'), '{"type":"finished","id":"x","at":"20');
    const j2 = Journal.open(dir);
    expect(entryState(j2.get('x')!)).toBe('started');
    // Compaction rewrote the file, so new records are not glued onto the torn line.
    j2.markFinished('x', result(new Date()));
    j2.close();
    const j3 = Journal.open(dir);
    expect(entryState(j3.get('x')!)).toBe('finished');
    j3.close();
  });

  it('prunes old reported entries only once the command has expired, and keeps unreported ones', () => {
    const dir = stateDir();
    const eightDaysAgo = new Date(Date.now() - JOURNAL_RETENTION_MS - 24 * 3600_000);
    const j1 = Journal.open(dir, { now: () => eightDaysAgo });
    const past = new Date(eightDaysAgo.getTime() + 3600_000).toISOString();
    for (const id of ['old-reported', 'old-unreported']) {
      j1.markReceived(id, past);
      j1.markStarted(id, eightDaysAgo);
      j1.markFinished(id, result(eightDaysAgo));
    }
    j1.markReported('old-reported', 'delivered');
    j1.markReceived('old-unexpired', future());
    j1.markStarted('old-unexpired', eightDaysAgo);
    j1.markFinished('old-unexpired', result(eightDaysAgo));
    j1.markReported('old-unexpired', 'delivered');
    j1.close();

    const j2 = Journal.open(dir);
    expect(j2.get('old-reported')).toBeUndefined();
    expect(j2.get('old-unreported')).toBeDefined();
    expect(j2.get('old-unexpired')).toBeDefined();
    j2.close();
    expect(readFileSync(path.join(dir, 'journal.jsonl'), 'utf8')).not.toContain('old-reported');
  });

  it('keeps the journal private to the agent', () => {
    const dir = stateDir();
    Journal.open(dir).close();
    expect(statSync(path.join(dir, 'journal.jsonl')).mode & 0o777).toBe(0o600);
  });
});
