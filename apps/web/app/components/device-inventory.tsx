/** The device page's inventory panels: hardware, security and performance. Agent data is shown as React text only. */
import type { ReactNode } from 'react';
import type { components } from '@opsconductor/contracts/openapi-types';
import { formatBytes, percentOf } from '~/lib/format';
import { Badge, Card, EmptyState, Table, Td, Th, cx } from './ui';

/**
 * The sections as the API sends them: a device's stored report, which may predate fields that have a default
 * now (an older agent's), so those may be missing here.
 */
type Inventory = components['schemas']['DeviceDetail']['inventory'];
type HardwareSection = NonNullable<Inventory['hardware']>;
type SecuritySection = NonNullable<Inventory['security']>;
type PerformanceSection = NonNullable<Inventory['performance']>;

export function Detail({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="grid grid-cols-[150px_minmax(0,1fr)] gap-2 px-4 py-1.5 text-[13px]">
      <dt className="text-zinc-500">{label}</dt>
      <dd className="min-w-0 break-words text-zinc-900">{children}</dd>
    </div>
  );
}

export function Dash() {
  return <span className="text-zinc-400">—</span>;
}

/** Text or a dash. */
export function T({ children, mono }: { children: string | number | null | undefined; mono?: boolean }) {
  if (children === null || children === undefined || children === '') return <Dash />;
  return <span className={mono ? 'font-mono text-xs' : undefined}>{children}</span>;
}

export function YesNo({ value, good }: { value: boolean | null | undefined; good?: boolean }) {
  if (value === null || value === undefined) return <span className="text-zinc-400">Unknown</span>;
  const positive = good === undefined ? null : value === good;
  return (
    <Badge tone={positive === null ? 'neutral' : positive ? 'green' : 'amber'} data-status={String(value)}>
      {value ? 'Yes' : 'No'}
    </Badge>
  );
}

/** A horizontal usage bar: amber from 75 %, red from 90 %. */
export function UsageBar({ used, total, label }: { used: number | null | undefined; total: number | null | undefined; label?: string }) {
  const pct = percentOf(used, total);
  if (pct === null) return <Dash />;
  const tone = pct >= 90 ? 'bg-red-500' : pct >= 75 ? 'bg-amber-500' : 'bg-zinc-700';
  return (
    <div className="flex min-w-40 items-center gap-2" data-testid="usage-bar">
      <div
        className="h-1.5 flex-1 overflow-hidden rounded-full bg-zinc-200"
        role="meter"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(pct)}
        aria-label={label ?? 'Usage'}
      >
        <div className={cx('h-full rounded-full', tone)} style={{ width: `${pct.toFixed(1)}%` }} />
      </div>
      <span className="w-10 text-right text-xs text-zinc-600 tabular-nums">{Math.round(pct)}%</span>
    </div>
  );
}

function NoSection({ what }: { what: string }) {
  return (
    <Card>
      <EmptyState title={`No ${what} inventory yet`}>The agent reports it with its next inventory.</EmptyState>
    </Card>
  );
}

const chassisLabels: Record<string, string> = {
  desktop: 'Desktop',
  laptop: 'Laptop',
  server: 'Server',
  virtual: 'Virtual',
  other: 'Other',
  unknown: 'Unknown',
};
const virtualizationLabels: Record<string, string> = {
  physical: 'Physical',
  kvm: 'KVM',
  vmware: 'VMware',
  hyperv: 'Hyper-V',
  virtualbox: 'VirtualBox',
  xen: 'Xen',
  container: 'Container',
  other: 'Other',
  unknown: 'Unknown',
};

export function HardwarePanel({ hw }: { hw: HardwareSection | undefined }) {
  if (!hw) return <NoSection what="hardware" />;
  return (
    <div className="space-y-4" data-testid="hardware-panel">
      <div className="grid items-start gap-4 lg:grid-cols-2">
        <Card title="System">
          <dl className="divide-y divide-zinc-100 py-1">
            <Detail label="Manufacturer">
              <T>{hw.manufacturer}</T>
            </Detail>
            <Detail label="Model">
              <T>{hw.model}</T>
            </Detail>
            <Detail label="Serial number">
              <T mono>{hw.serialNumber}</T>
            </Detail>
            <Detail label="System UUID">
              <T mono>{hw.systemUuid}</T>
            </Detail>
            <Detail label="Chassis">{chassisLabels[hw.chassisType ?? 'unknown'] ?? hw.chassisType}</Detail>
            <Detail label="Virtualization">
              {virtualizationLabels[hw.virtualization.kind] ?? hw.virtualization.kind}
              {hw.virtualization.detail ? <span className="ml-1.5 text-zinc-500">({hw.virtualization.detail})</span> : null}
            </Detail>
          </dl>
        </Card>
        <Card title="Firmware, processor and memory">
          <dl className="divide-y divide-zinc-100 py-1">
            <Detail label="Firmware">{hw.firmwareType === 'uefi' ? 'UEFI' : hw.firmwareType === 'bios' ? 'Legacy BIOS' : 'Unknown'}</Detail>
            <Detail label="BIOS">
              {[hw.biosVendor, hw.biosVersion].filter(Boolean).join(' ') || <Dash />}
              {hw.biosDate ? <span className="ml-1.5 text-zinc-500">({hw.biosDate})</span> : null}
            </Detail>
            <Detail label="CPU">
              <T>{hw.cpu.model}</T>
            </Detail>
            <Detail label="Cores / threads">
              {hw.cpu.cores ?? '—'} / {hw.cpu.threads ?? '—'}
              {hw.cpu.sockets ? (
                <span className="ml-1.5 text-zinc-500">
                  ({hw.cpu.sockets} socket{hw.cpu.sockets === 1 ? '' : 's'})
                </span>
              ) : null}
            </Detail>
            <Detail label="Memory">{formatBytes(hw.memoryBytes)}</Detail>
          </dl>
        </Card>
      </div>

      <Card title="Disks">
        {hw.disks.length === 0 ? (
          <EmptyState title="No disks reported" />
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>Name</Th>
                <Th>Model</Th>
                <Th>Type</Th>
                <Th className="text-right">Size</Th>
              </tr>
            </thead>
            <tbody>
              {hw.disks.map((d, i) => (
                <tr key={`${d.name}:${i}`}>
                  <Td className="font-mono text-xs">{d.name}</Td>
                  <Td>
                    <T>{d.model}</T>
                  </Td>
                  <Td className="uppercase">{!d.type || d.type === 'unknown' ? <Dash /> : d.type}</Td>
                  <Td className="text-right tabular-nums">{formatBytes(d.sizeBytes)}</Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>

      <Card title="Filesystems">
        {hw.filesystems.length === 0 ? (
          <EmptyState title="No filesystems reported" />
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>Mount</Th>
                <Th>Device</Th>
                <Th>Type</Th>
                <Th className="text-right">Size</Th>
                <Th className="text-right">Free</Th>
                <Th className="w-64">Used</Th>
              </tr>
            </thead>
            <tbody>
              {hw.filesystems.map((f, i) => (
                <tr key={`${f.mount}:${i}`}>
                  <Td className="max-w-xs truncate font-mono text-xs">
                    <span title={f.mount}>{f.mount}</span>
                  </Td>
                  <Td className="max-w-xs truncate font-mono text-xs text-zinc-500">
                    <T>{f.device}</T>
                  </Td>
                  <Td>
                    <T>{f.fsType}</T>
                  </Td>
                  <Td className="text-right tabular-nums">{formatBytes(f.sizeBytes)}</Td>
                  <Td className="text-right tabular-nums">{formatBytes(f.freeBytes)}</Td>
                  <Td>
                    <UsageBar used={f.sizeBytes - f.freeBytes} total={f.sizeBytes} label={`${f.mount} used`} />
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>

      <Card title="Network interfaces">
        {hw.networkInterfaces.length === 0 ? (
          <EmptyState title="No network interfaces reported" />
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>Name</Th>
                <Th>MAC</Th>
                <Th>IPv4</Th>
                <Th>IPv6</Th>
              </tr>
            </thead>
            <tbody>
              {hw.networkInterfaces.map((n, i) => (
                <tr key={`${n.name}:${i}`}>
                  <Td className="font-mono text-xs">{n.name}</Td>
                  <Td className="font-mono text-xs">
                    <T>{n.mac}</T>
                  </Td>
                  <Td className="font-mono text-xs">{n.ipv4.length ? n.ipv4.join(', ') : <Dash />}</Td>
                  <Td className="max-w-md font-mono text-xs break-all">{n.ipv6.length ? n.ipv6.join(', ') : <Dash />}</Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>
    </div>
  );
}

export function SecurityPanel({ sec }: { sec: SecuritySection | undefined }) {
  if (!sec) return <NoSection what="security" />;
  return (
    <div className="space-y-4" data-testid="security-panel">
      <div className="grid items-start gap-4 lg:grid-cols-2">
        <Card title="Remote access and firewall">
          <dl className="divide-y divide-zinc-100 py-1">
            <Detail label="SSH server enabled">
              <YesNo value={sec.sshEnabled} />
            </Detail>
            <Detail label="SSH listening">
              <YesNo value={sec.sshListening} />
            </Detail>
            <Detail label="RDP enabled">
              <YesNo value={sec.rdpEnabled} />
            </Detail>
            <Detail label="Firewall enabled">
              <YesNo value={sec.firewall.enabled} good />
              {sec.firewall.product ? <span className="ml-2 text-zinc-500">{sec.firewall.product}</span> : null}
            </Detail>
          </dl>
        </Card>
        <Card title="Antivirus">
          {sec.antivirus ? (
            <dl className="divide-y divide-zinc-100 py-1">
              <Detail label="Product">{sec.antivirus.product}</Detail>
              <Detail label="Enabled">
                <YesNo value={sec.antivirus.enabled} good />
              </Detail>
              <Detail label="Up to date">
                <YesNo value={sec.antivirus.upToDate} good />
              </Detail>
            </dl>
          ) : (
            <EmptyState title="No antivirus reported" />
          )}
        </Card>
      </div>
      <div className="grid items-start gap-4 lg:grid-cols-2">
        <Card title={`Local administrators (${sec.localAdmins.length})`}>
          {sec.localAdmins.length === 0 ? (
            <EmptyState title="None reported" />
          ) : (
            <ul className="divide-y divide-zinc-100" data-testid="local-admins">
              {sec.localAdmins.map((a, i) => (
                <li key={`${a}:${i}`} className="px-4 py-1.5 font-mono text-xs text-zinc-800">
                  {a}
                </li>
              ))}
            </ul>
          )}
        </Card>
        <Card title="Disk encryption">
          {sec.diskEncryption.length === 0 ? (
            <EmptyState title="No volumes reported" />
          ) : (
            <Table>
              <thead>
                <tr>
                  <Th>Volume</Th>
                  <Th>Encrypted</Th>
                  <Th>Method</Th>
                </tr>
              </thead>
              <tbody>
                {sec.diskEncryption.map((v, i) => (
                  <tr key={`${v.volume}:${i}`}>
                    <Td className="font-mono text-xs">{v.volume}</Td>
                    <Td>
                      <YesNo value={v.encrypted} good />
                    </Td>
                    <Td>
                      <T>{v.method}</T>
                    </Td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
        </Card>
      </div>
    </div>
  );
}

function Stat({ label, value, children }: { label: string; value: ReactNode; children?: ReactNode }) {
  return (
    <div className="rounded-lg border border-zinc-200 bg-white px-4 py-3 shadow-xs">
      <p className="text-xs text-zinc-500">{label}</p>
      <p className="mt-0.5 text-lg font-semibold text-zinc-900 tabular-nums">{value}</p>
      {children}
    </div>
  );
}

const load = (n: number | null | undefined) => (n === null || n === undefined ? '—' : n.toFixed(2));

export function PerformancePanel({ perf }: { perf: PerformanceSection | undefined }) {
  if (!perf) return <NoSection what="performance" />;
  return (
    <div className="space-y-4" data-testid="performance-panel">
      <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
        <Stat label="CPU" value={perf.cpuPercent === null || perf.cpuPercent === undefined ? '—' : `${Math.round(perf.cpuPercent)}%`}>
          <div className="mt-1.5">
            <UsageBar used={perf.cpuPercent} total={100} label="CPU used" />
          </div>
        </Stat>
        <Stat label="Load (1 / 5 / 15 min)" value={`${load(perf.cpuLoad1)} / ${load(perf.cpuLoad5)} / ${load(perf.cpuLoad15)}`} />
        <Stat label="Memory used" value={`${formatBytes(perf.memoryUsedBytes)} of ${formatBytes(perf.memoryTotalBytes)}`}>
          <div className="mt-1.5">
            <UsageBar used={perf.memoryUsedBytes} total={perf.memoryTotalBytes} label="Memory used" />
          </div>
        </Stat>
        <Stat
          label="Fullest filesystem"
          value={(() => {
            const max = Math.max(-1, ...perf.filesystems.map((f) => percentOf(f.usedBytes, f.sizeBytes) ?? -1));
            return max < 0 ? '—' : `${Math.round(max)}%`;
          })()}
        />
      </div>
      <Card title="Filesystem usage">
        {perf.filesystems.length === 0 ? (
          <EmptyState title="No filesystems reported" />
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>Mount</Th>
                <Th className="text-right">Used</Th>
                <Th className="text-right">Size</Th>
                <Th className="w-80">Usage</Th>
              </tr>
            </thead>
            <tbody>
              {perf.filesystems.map((f, i) => (
                <tr key={`${f.mount}:${i}`}>
                  <Td className="max-w-sm truncate font-mono text-xs">
                    <span title={f.mount}>{f.mount}</span>
                  </Td>
                  <Td className="text-right tabular-nums">{formatBytes(f.usedBytes)}</Td>
                  <Td className="text-right tabular-nums">{formatBytes(f.sizeBytes)}</Td>
                  <Td>
                    <UsageBar used={f.usedBytes} total={f.sizeBytes} label={`${f.mount} used`} />
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>
    </div>
  );
}
