/**
 * Replays recorded histories (test/histories/*.json, written by scripts/record-histories.ts) against the current
 * workflow code: a change that would break running workflows fails here with a DeterminismViolationError.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from './support/history-json.ts';
import { quietTemporalLogs, workflowBundle } from './support/temporal.ts';

const historiesDir = fileURLToPath(new URL('./histories/', import.meta.url));
const files = readdirSync(historiesDir)
  .filter((f) => f.endsWith('.json'))
  .sort();

describe('recorded histories', () => {
  it("cover success, a failed batch, cancel and batched runs, with the command inline (older runs) and by reference, a saved job's run with its chained child, one that waits for approval, a schedule's firing, the scheduled workflows, deployment rollouts (completed with a soak; auto-paused then rolled back), and an alert escalated to its second level, acknowledged there and resolved", () => {
    expect(files).toEqual([
      'alert-lifecycle-escalated-acknowledged.json',
      'batched.json',
      'by-reference-batched.json',
      'cancel.json',
      'deployment-rollout-completed.json',
      'deployment-rollout-rolled-back.json',
      'device-presence.json',
      'failed-batch.json',
      'group-refresh.json',
      'job-approval.json',
      'job-chain-child.json',
      'job-chain.json',
      'scheduled-job-run.json',
      'success.json',
    ]);
  });

  it.each(files)('%s replays deterministically', async (file) => {
    quietTemporalLogs();
    const history = historyFromJSON(JSON.parse(readFileSync(`${historiesDir}${file}`, 'utf8')));
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: `replay-${file}` }, history, file);
  });
});
