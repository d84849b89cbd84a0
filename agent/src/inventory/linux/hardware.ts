import { access, readdir } from 'node:fs/promises';
import os from 'node:os';
import { readText, run } from '../io.ts';
import { byKey, clip, clipOr, count, normalizeMac, quantizeFree, realValue } from '../normalize.ts';
import type { CollectContext, SectionInput } from '../types.ts';
import { localFilesystems } from './filesystems.ts';

type Hardware = SectionInput<'hardware'>;
type Chassis = NonNullable<Hardware['chassisType']>;
type VirtKind = Hardware['virtualization']['kind'];

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );
const dmi = (name: string) => readText(`/sys/class/dmi/id/${name}`, 4096);

/** SMBIOS 3.x chassis type codes (DSP0134, 7.4.1). */
export function chassisFromSmbios(code: number | null): Chassis {
  if (code === null) return 'unknown';
  if ([3, 4, 5, 6, 7, 13, 15, 16, 24, 35, 36].includes(code)) return 'desktop';
  if ([8, 9, 10, 14, 30, 31, 32].includes(code)) return 'laptop';
  if ([17, 23, 25, 28, 29].includes(code)) return 'server';
  if (code === 2) return 'unknown';
  return 'other';
}

/** DMI writes the BIOS date as MM/DD/YYYY; ISO order matches what the Windows collector reports. */
export function isoBiosDate(value: string | null | undefined): string | null {
  const match = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(value?.trim() ?? '');
  return match ? `${match[3]}-${match[1]}-${match[2]}` : realValue(value, 40);
}

export interface CpuInfo {
  model: string | null;
  cores: number | null;
  threads: number | null;
  sockets: number | null;
}

/** /proc/cpuinfo: one block per logical CPU; x86 has physical id / core id, ARM usually has neither. */
export function parseCpuinfo(text: string): CpuInfo {
  const blocks = text.split(/\n\s*\n/).filter((b) => /^processor\s*:/m.test(b));
  const field = (block: string, name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(block)?.[1]?.trim();
  let model: string | null = null;
  const sockets = new Set<string>();
  const cores = new Set<string>();
  for (const block of blocks) {
    model ??= field(block, 'model name') || field(block, 'Processor') || field(block, 'cpu model') || null;
    const socket = field(block, 'physical id');
    const core = field(block, 'core id');
    if (socket !== undefined) sockets.add(socket);
    if (socket !== undefined && core !== undefined) cores.add(`${socket}:${core}`);
  }
  // Some ARM kernels name the SoC only once, outside the per-CPU blocks.
  model ??= /^(?:Hardware|Model)\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? null;
  const threads = blocks.length || null;
  return {
    model,
    threads,
    sockets: sockets.size || (threads ? 1 : null),
    cores: cores.size || threads,
  };
}

export function parseMemTotal(meminfo: string | null): number | null {
  const match = /^MemTotal:\s+(\d+)\s*kB/m.exec(meminfo ?? '');
  return match ? Number(match[1]) * 1024 : null;
}

interface LsblkDisk {
  name?: unknown;
  model?: unknown;
  size?: unknown;
  rota?: unknown;
  type?: unknown;
}

/** Old lsblk versions print every value as a string ("1", "0"), newer ones as JSON booleans and numbers. */
const truthy = (v: unknown) => v === true || v === 1 || v === '1';
const falsy = (v: unknown) => v === false || v === 0 || v === '0';

/** Virtual block devices that are not disks a person would inventory. */
const PSEUDO_DISK = /^(zram|loop|ram|nbd|fd)\d*/;

export function parseLsblkDisks(json: string): Hardware['disks'] {
  let parsed: { blockdevices?: LsblkDisk[] };
  try {
    parsed = JSON.parse(json) as { blockdevices?: LsblkDisk[] };
  } catch {
    return [];
  }
  const disks: Hardware['disks'] = [];
  for (const dev of parsed.blockdevices ?? []) {
    const name = clip(dev.name);
    if (!name || dev.type !== 'disk' || PSEUDO_DISK.test(name)) continue;
    const size = count(dev.size);
    if (size === 0) continue; // empty card readers, detached virtual disks
    disks.push({
      name,
      model: clip(dev.model),
      sizeBytes: size,
      type: truthy(dev.rota) ? 'hdd' : falsy(dev.rota) ? 'ssd' : 'unknown',
    });
  }
  return disks.sort(byKey((d) => d.name)).slice(0, 256);
}

/** Without lsblk (minimal images): /sys/block holds the same facts. */
async function disksFromSys(): Promise<Hardware['disks']> {
  const names = await readdir('/sys/block').catch(() => [] as string[]);
  const disks: Hardware['disks'] = [];
  for (const name of names.sort()) {
    if (PSEUDO_DISK.test(name) || name.startsWith('dm-') || name.startsWith('md') || name.startsWith('sr')) continue;
    const sectors = count((await readText(`/sys/block/${name}/size`, 64))?.trim());
    if (!sectors) continue;
    const rota = (await readText(`/sys/block/${name}/queue/rotational`, 64))?.trim();
    disks.push({
      name,
      model: clip(await readText(`/sys/block/${name}/device/model`, 256)),
      sizeBytes: sectors * 512, // /sys/block/*/size is always in 512-byte units
      type: rota === '1' ? 'hdd' : rota === '0' ? 'ssd' : 'unknown',
    });
  }
  return disks.slice(0, 256);
}

async function disks(ctx: CollectContext): Promise<Hardware['disks']> {
  const res = await run('lsblk', ['-J', '-b', '-d', '-o', 'NAME,MODEL,SIZE,ROTA,TYPE'], { timeoutMs: 5000, signal: ctx.signal });
  if (res?.code === 0) return parseLsblkDisks(res.stdout);
  return disksFromSys();
}

/**
 * Interfaces that come and go with each container or VM started on the host. Listing them would change
 * the hardware section (and send it again) every time a container starts.
 */
const EPHEMERAL_INTERFACE = /^(veth|cali|tap|vnet|lxc|fwbr|fwpr|fwln|cilium_tmp)/;

/** Expands an IPv6 address to 32 hex digits, as /proc/net/if_inet6 writes it. */
export function expandIpv6(address: string): string | null {
  const bare = address.split('%')[0]!.toLowerCase();
  const halves = bare.split('::');
  if (halves.length > 2) return null;
  const toGroups = (part: string) => (part === '' ? [] : part.split(':'));
  const head = toGroups(halves[0]!);
  const tail = halves.length === 2 ? toGroups(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  const groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => g.padStart(4, '0')).join('');
}

/** Privacy (RFC 4941 temporary) addresses rotate daily; flag 0x01 in /proc/net/if_inet6 marks them. */
export function temporaryIpv6(ifInet6: string | null): Set<string> {
  const out = new Set<string>();
  for (const line of (ifInet6 ?? '').split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 6) continue;
    const flags = parseInt(fields[4]!, 16);
    if (flags & 0x01) out.add(fields[0]!.toLowerCase());
  }
  return out;
}

async function networkInterfaces(): Promise<Hardware['networkInterfaces']> {
  const fromOs = os.networkInterfaces();
  const temporary = temporaryIpv6(await readText('/proc/net/if_inet6', 256 * 1024));
  // /sys/class/net also lists interfaces that are down or have no address; os.networkInterfaces() does not.
  const names = new Set([...(await readdir('/sys/class/net').catch(() => [] as string[])), ...Object.keys(fromOs)]);
  const out: Hardware['networkInterfaces'] = [];
  for (const name of [...names].sort()) {
    if (name === 'lo' || EPHEMERAL_INTERFACE.test(name)) continue;
    const infos = fromOs[name] ?? [];
    if (infos.some((i) => i.internal)) continue;
    // /sys/class/net also holds plain files (bonding_masters): an interface has an ifindex.
    if (!fromOs[name] && (await readText(`/sys/class/net/${name}/ifindex`, 64)) === null) continue;
    const mac = normalizeMac((await readText(`/sys/class/net/${name}/address`, 128))?.trim()) ?? normalizeMac(infos[0]?.mac);
    const ipv4 = infos.filter((i) => i.family === 'IPv4').map((i) => i.address);
    const ipv6 = infos.filter((i) => i.family === 'IPv6' && !temporary.has(expandIpv6(i.address) ?? '')).map((i) => i.address);
    out.push({
      name: clipOr(name, 'unknown'),
      mac,
      ipv4: [...new Set(ipv4)].sort().slice(0, 64),
      ipv6: [...new Set(ipv6)].sort().slice(0, 64),
    });
  }
  return out.slice(0, 128);
}

/** `systemd-detect-virt` names (systemd.io, "Virtualization Detection") → contract kinds. */
export function virtKindFromSystemd(name: string): VirtKind {
  switch (name) {
    case 'none':
      return 'physical';
    case 'kvm':
    case 'qemu':
    case 'amazon':
    case 'google':
      return 'kvm';
    case 'vmware':
      return 'vmware';
    case 'microsoft':
      return 'hyperv';
    case 'oracle':
      return 'virtualbox';
    case 'xen':
      return 'xen';
    case 'wsl':
      return 'hyperv'; // WSL 2 runs in a Hyper-V utility VM
    case 'docker':
    case 'podman':
    case 'lxc':
    case 'lxc-libvirt':
    case 'systemd-nspawn':
    case 'rkt':
    case 'openvz':
    case 'proot':
    case 'pouch':
    case 'container-other':
      return 'container';
    default:
      return 'other';
  }
}

/** DMI strings hypervisors put in the system's vendor and product name. */
export function virtKindFromDmi(vendor: string | null, product: string | null): VirtKind | null {
  const text = `${vendor ?? ''} ${product ?? ''}`.toLowerCase();
  if (/vmware/.test(text)) return 'vmware';
  if (/virtualbox|innotek/.test(text)) return 'virtualbox';
  if (/\bkvm\b|qemu|openstack|amazon ec2|google compute engine/.test(text)) return 'kvm';
  if (/microsoft corporation/.test(text) && /virtual machine/.test(text)) return 'hyperv';
  if (/\bxen\b|hvm domu/.test(text)) return 'xen';
  if (/parallels|bochs|bhyve/.test(text)) return 'other';
  return null;
}

async function virtualization(ctx: CollectContext, vendor: string | null, product: string | null): Promise<Hardware['virtualization']> {
  const res = await run('systemd-detect-virt', [], { timeoutMs: 5000, signal: ctx.signal });
  // Exit 1 with "none" is its way of saying "not virtualized".
  const detected = res?.stdout.trim();
  if (res && detected && /^[a-z0-9-]+$/.test(detected)) return { kind: virtKindFromSystemd(detected), detail: detected };

  if (await exists('/.dockerenv')) return { kind: 'container', detail: 'docker' };
  if (await exists('/run/.containerenv')) return { kind: 'container', detail: 'podman' };
  const cgroup = (await readText('/proc/1/cgroup', 64 * 1024)) ?? '';
  const runtime = /\b(docker|kubepods|containerd|lxc|libpod)\b/.exec(cgroup)?.[1];
  if (runtime) return { kind: 'container', detail: runtime };
  const fromDmi = virtKindFromDmi(vendor, product);
  if (fromDmi) return { kind: fromDmi, detail: clip(`${vendor ?? ''} ${product ?? ''}`) };
  // The CPU's "hypervisor" flag is set by every hypervisor, so it proves a VM but not which one.
  if (/^flags\s*:.*\bhypervisor\b/m.test((await readText('/proc/cpuinfo', 4 * 1024 * 1024)) ?? ''))
    return { kind: 'other', detail: 'hypervisor cpu flag' };
  if (vendor || product) return { kind: 'physical', detail: null };
  return { kind: 'unknown', detail: null };
}

export async function collectHardware(ctx: CollectContext): Promise<SectionInput<'hardware'>> {
  const [vendor, product, serial, uuid, biosVendor, biosVersion, biosDate, chassisRaw] = await Promise.all(
    ['sys_vendor', 'product_name', 'product_serial', 'product_uuid', 'bios_vendor', 'bios_version', 'bios_date', 'chassis_type'].map(dmi),
  );
  const manufacturer = realValue(vendor);
  const model = realValue(product);
  const [cpuinfo, meminfo, diskList, filesystems, interfaces, virt, efi] = await Promise.all([
    readText('/proc/cpuinfo', 4 * 1024 * 1024),
    readText('/proc/meminfo', 64 * 1024),
    disks(ctx),
    localFilesystems(),
    networkInterfaces(),
    virtualization(ctx, manufacturer, model),
    exists('/sys/firmware/efi'),
  ]);

  const cpu = parseCpuinfo(cpuinfo ?? '');
  const cpus = os.cpus();
  const isVm = !['physical', 'container', 'unknown'].includes(virt.kind);
  const chassis = isVm ? 'virtual' : chassisFromSmbios(count(chassisRaw?.trim()));
  // Without DMI (containers, some ARM boards) BIOS vs UEFI cannot be told apart.
  const firmwareType = efi ? 'uefi' : biosVendor !== null || biosVersion !== null ? 'bios' : 'unknown';

  return {
    manufacturer,
    model,
    serialNumber: realValue(serial),
    systemUuid: realValue(uuid, 64)?.toLowerCase() ?? null,
    chassisType: chassis,
    biosVendor: realValue(biosVendor),
    biosVersion: realValue(biosVersion),
    biosDate: isoBiosDate(biosDate),
    firmwareType,
    cpu: {
      model: clip(cpu.model ?? cpus[0]?.model),
      cores: cpu.cores ?? (cpus.length || null),
      threads: cpu.threads ?? (cpus.length || null),
      sockets: cpu.sockets,
    },
    memoryBytes: parseMemTotal(meminfo) ?? os.totalmem(),
    disks: diskList,
    filesystems: filesystems.map((fs) => ({
      mount: clipOr(fs.mount, '/', 1024),
      device: clip(fs.device, 1024),
      fsType: clip(fs.fsType, 50),
      sizeBytes: fs.sizeBytes,
      freeBytes: quantizeFree(fs.freeBytes, fs.sizeBytes),
    })),
    networkInterfaces: interfaces,
    virtualization: virt,
  };
}
