/** Readable text for a device's activity (from domain events). Pure; shared by server and browser. */
import type { DeviceActivityItem } from '@opsconductor/contracts/inventory-api';
import type { Tone } from '~/components/ui';

export const activityLabels: Record<DeviceActivityItem['type'], string> = {
  enrolled: 'Enrolled',
  retired: 'Retired',
  came_online: 'Online',
  went_offline: 'Offline',
  joined_group: 'Joined group',
  left_group: 'Left group',
  inventory_changed: 'Inventory',
  command_finished: 'Command',
};

export const activityTones: Record<DeviceActivityItem['type'], Tone> = {
  enrolled: 'blue',
  retired: 'gray',
  came_online: 'green',
  went_offline: 'amber',
  joined_group: 'blue',
  left_group: 'neutral',
  inventory_changed: 'neutral',
  command_finished: 'neutral',
};

const group = (name: string | null) => (name === null ? 'a group since deleted' : name);
const plural = (n: number, one: string) => `${n.toLocaleString('en-US')} ${one}${n === 1 ? '' : 's'}`;

/** One line per entry: "Joined All Linux", "Command succeeded (exit code 0)". */
export function activityTitle(a: DeviceActivityItem): string {
  switch (a.type) {
    case 'enrolled':
      return 'Enrolled';
    case 'retired':
      return 'Retired: no longer managed';
    case 'came_online':
      return 'Came online';
    case 'went_offline':
      return a.details.reason === 'agent_stopped' ? 'Went offline: the agent stopped' : 'Went offline: not heard from';
    case 'joined_group':
      return `Joined ${group(a.details.groupName)}`;
    case 'left_group':
      return `Left ${group(a.details.groupName)}`;
    case 'inventory_changed':
      return a.details.firstReport ? 'First inventory report' : `Inventory changed: ${a.details.changedSections.join(', ')}`;
    case 'command_finished':
      return `Command ${a.details.status.replaceAll('_', ' ')}${a.details.exitCode === null ? '' : ` (exit code ${a.details.exitCode})`}`;
  }
}

/** A second line where there is more to say, else null. */
export function activityDetail(a: DeviceActivityItem): string | null {
  switch (a.type) {
    case 'retired':
      return a.details.endedRuns ? `${plural(a.details.endedRuns, 'unfinished run')} ended` : null;
    case 'joined_group':
    case 'left_group':
      return a.details.reason;
    case 'inventory_changed':
      return a.details.historyEvents ? `${plural(a.details.historyEvents, 'change')} in the history` : null;
    case 'command_finished':
      return (
        [a.details.durationMs === null ? null : `${a.details.durationMs.toLocaleString('en-US')} ms`, a.details.error]
          .filter(Boolean)
          .join(' · ') || null
      );
    default:
      return null;
  }
}
