/**
 * The predefined dynamic groups, seeded once and kept by `builtInKey` (the DeviceGroup column); admins
 * cannot delete them. Each rule passes validateRule (tested) and uses only built-in fields.
 */
import type { Rule } from '@opsconductor/contracts/rules';

export interface BuiltInGroup {
  key: string;
  name: string;
  description: string;
  rule: Rule;
}

export const builtInGroups: readonly BuiltInGroup[] = [
  {
    key: 'all-windows',
    name: 'All Windows',
    description: 'Every Windows device.',
    rule: { field: 'os.family', op: 'equals', value: 'windows' },
  },
  {
    key: 'all-linux',
    name: 'All Linux',
    description: 'Every Linux device.',
    rule: { field: 'os.family', op: 'equals', value: 'linux' },
  },
  {
    key: 'windows-11',
    name: 'Windows 11',
    description: 'Windows client devices on build 22000 or later.',
    // Windows Server 2025 shares the 10.0.26100 build line with Windows 11 24H2: keep servers out.
    rule: {
      all: [
        { field: 'os.family', op: 'equals', value: 'windows' },
        { field: 'os.version', op: 'version_gte', value: '10.0.22000' },
        { field: 'os.name', op: 'not_contains', value: 'Server' },
      ],
    },
  },
  {
    key: 'servers',
    name: 'Servers',
    description: 'Devices running a server OS edition or in a server chassis.',
    rule: {
      any: [
        { field: 'os.name', op: 'contains', value: 'Server' },
        { field: 'hardware.chassisType', op: 'equals', value: 'server' },
      ],
    },
  },
  {
    key: 'virtual-machines',
    name: 'Virtual machines',
    description: 'Virtual machines (KVM, VMware, Hyper-V, VirtualBox, Xen…); containers are not machines and stay out.',
    rule: {
      all: [
        { field: 'hardware.isVirtual', op: 'equals', value: true },
        { field: 'hardware.virtualization', op: 'not_equals', value: 'container' },
      ],
    },
  },
  {
    key: 'offline-7-days',
    name: 'Offline more than 7 days',
    description: 'Not seen for more than 7 days, or never seen since an enrollment more than 7 days ago.',
    rule: {
      any: [
        { field: 'device.lastSeenAgeDays', op: 'gt', value: 7 },
        {
          all: [
            { field: 'device.status', op: 'equals', value: 'never_seen' },
            { field: 'device.enrolledAgeDays', op: 'gt', value: 7 },
          ],
        },
      ],
    },
  },
  {
    key: 'pending-reboot',
    name: 'Pending reboot',
    description: 'Devices waiting for a reboot to finish updates or installations.',
    rule: { field: 'system.pendingReboot', op: 'equals', value: true },
  },
  {
    key: 'low-disk',
    name: 'Low disk',
    description: 'A local filesystem has less than 10 % free space.',
    rule: { field: 'performance.minDiskFreePercent', op: 'lt', value: 10 },
  },
];
