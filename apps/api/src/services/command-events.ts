/**
 * The command.finished domain event, written in the transaction that stores a command's first result
 * (duplicates are no events). One call, so the command channel's state-machine module can take it over.
 * Dispatchers pick it up on their next poll (within seconds).
 */
import type { CommandResult } from '@opsconductor/contracts/agent-protocol';
import { appendEvents, domainEvent, type Sql } from '@opsconductor/domain-events';
import { deviceActor } from '@opsconductor/unit-of-work';
import type { AuthDevice } from '../context.ts';

export async function recordCommandFinished(sql: Sql, device: AuthDevice, command: { id: string; jobRunId: string }, result: CommandResult): Promise<void> {
  await appendEvents(sql, [domainEvent('command.finished', {
    commandId: command.id, deviceId: device.id, jobRunId: command.jobRunId, status: result.status,
    exitCode: result.exitCode === null ? null : String(result.exitCode), durationMs: result.durationMs, error: result.error ?? null,
  })], deviceActor(device));
}
