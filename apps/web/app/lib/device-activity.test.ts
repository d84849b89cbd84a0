import { describe, expect, it } from 'vitest';
import type { DeviceActivityItem } from '@opsconductor/contracts/inventory-api';
import { activityDetail, activityTitle } from './device-activity';

const at = '2026-12-02T10:00:00.000Z';
const entry = (a: Omit<DeviceActivityItem, 'id' | 'occurredAt'>) => ({ id: '1', occurredAt: at, ...a }) as DeviceActivityItem;
const groupId = '00000000-0000-4000-8000-000000000001';

describe('device activity text', () => {
  it('says what happened, one line each', () => {
    expect(activityTitle(entry({ type: 'enrolled', details: {} }))).toBe('Enrolled');
    expect(activityTitle(entry({ type: 'went_offline', details: { lastSeenAt: at, reason: 'agent_stopped' } }))).toBe(
      'Went offline: the agent stopped',
    );
    expect(activityTitle(entry({ type: 'went_offline', details: { lastSeenAt: at, reason: 'not_seen' } }))).toBe(
      'Went offline: not heard from',
    );
    expect(activityTitle(entry({ type: 'joined_group', details: { groupId, groupName: 'All Linux', reason: 'device enrolled' } }))).toBe(
      'Joined All Linux',
    );
    expect(activityTitle(entry({ type: 'left_group', details: { groupId, groupName: null, reason: 'device retired' } }))).toBe(
      'Left a group since deleted',
    );
    expect(
      activityTitle(
        entry({ type: 'inventory_changed', details: { changedSections: ['software', 'hardware'], firstReport: false, historyEvents: 3 } }),
      ),
    ).toBe('Inventory changed: software, hardware');
    expect(
      activityTitle(entry({ type: 'inventory_changed', details: { changedSections: ['system'], firstReport: true, historyEvents: 1 } })),
    ).toBe('First inventory report');
    const command = entry({
      type: 'command_finished',
      details: { commandId: groupId, jobRunId: groupId, status: 'timed_out', exitCode: '4294967295', durationMs: 1200, error: 'killed' },
    });
    expect(activityTitle(command)).toBe('Command timed out (exit code 4294967295)');
    expect(activityDetail(command)).toBe('1,200 ms · killed');
    expect(activityDetail(entry({ type: 'retired', details: { endedRuns: 1 } }))).toBe('1 unfinished run ended');
    expect(activityDetail(entry({ type: 'retired', details: { endedRuns: 0 } }))).toBeNull();
    expect(activityDetail(entry({ type: 'came_online', details: { lastSeenAt: at } }))).toBeNull();
  });
});
