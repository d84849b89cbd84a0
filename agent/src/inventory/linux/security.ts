import { readdir } from 'node:fs/promises';
import { readText, run } from '../io.ts';
import { clip, uniqueSorted } from '../normalize.ts';
import type { CollectContext, SectionInput } from '../types.ts';
import { localFilesystems } from './filesystems.ts';

type Security = SectionInput<'security'>;

const ADMIN_GROUPS = ['sudo', 'wheel', 'admin'];

/**
 * Accounts that can become root: uid 0, and members of the groups distributions grant sudo to (listed in
 * /etc/group, or having one of them as their primary group in /etc/passwd).
 */
export function localAdmins(passwd: string, group: string): string[] {
  const admins = new Set<string>();
  const adminGids = new Set<string>();
  for (const line of group.split('\n')) {
    const [name, , gid, members] = line.split(':');
    if (!name || !ADMIN_GROUPS.includes(name)) continue;
    if (gid) adminGids.add(gid);
    for (const member of (members ?? '').split(',')) if (member.trim()) admins.add(member.trim());
  }
  for (const line of passwd.split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (!name || name.startsWith('+') || name.startsWith('-')) continue; // NIS compat entries
    if (uid === '0' || (gid && adminGids.has(gid))) admins.add(name);
  }
  return uniqueSorted([...admins].map((a) => clip(a, 300)).filter((a): a is string => a !== null)).slice(0, 500);
}

/** TCP ports from /proc/net/tcp{,6} in state 0A (LISTEN). Local address is hex ip:port. */
export function listeningPorts(...tables: (string | null)[]): Set<number> {
  const ports = new Set<number>();
  for (const table of tables) {
    for (const line of (table ?? '').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (!local || fields[3] !== '0A') continue;
      const port = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      if (Number.isInteger(port)) ports.add(port);
    }
  }
  return ports;
}

/** `Port` directives of sshd_config (and its drop-ins); 22 when none is set. */
export function sshPorts(configs: string[]): number[] {
  const ports = new Set<number>();
  for (const config of configs) {
    for (const match of config.matchAll(/^\s*Port\s+(\d+)\s*$/gim)) ports.add(Number(match[1]));
  }
  return ports.size ? [...ports] : [22];
}

/** `systemctl is-enabled` states meaning "starts at boot". */
const ENABLED_STATES = new Set(['enabled', 'enabled-runtime', 'generated']);

/** true/false from systemctl; null when there is no systemctl to ask. */
async function anyUnitEnabled(units: string[], ctx: CollectContext): Promise<boolean | null> {
  const results = await Promise.all(units.map((u) => run('systemctl', ['is-enabled', u], { timeoutMs: 5000, signal: ctx.signal })));
  if (results.every((r) => r === null)) return null;
  return results.some((r) => r !== null && ENABLED_STATES.has(r.stdout.trim().split('\n')[0]!.trim()));
}

/** An nftables ruleset filters inbound traffic when an input-hook chain has a drop policy or any rule. */
export function nftFiltersInput(ruleset: string): boolean {
  const chains = ruleset.split(/\bchain\s+\S+\s*\{/).slice(1);
  return chains.some((chain) => {
    const body = chain.split(/\n\s*\}/)[0] ?? '';
    if (!/hook\s+input\b/.test(body)) return false;
    if (/policy\s+drop/.test(body)) return true;
    return body.split('\n').some((line) => {
      const l = line.trim();
      return l !== '' && !l.startsWith('type ') && !l.startsWith('#') && !l.startsWith('policy');
    });
  });
}

/** `iptables -S INPUT`: a non-ACCEPT policy or any rule. Docker's chains live in FORWARD/nat and do not count. */
export function iptablesFiltersInput(rules: string): boolean {
  return rules.split('\n').some((line) => /^-P INPUT (DROP|REJECT)/.test(line) || line.startsWith('-A INPUT'));
}

async function firewall(ctx: CollectContext): Promise<Security['firewall']> {
  const opts = { timeoutMs: 10_000, signal: ctx.signal };
  const [ufw, firewalld] = await Promise.all([run('ufw', ['status'], opts), run('firewall-cmd', ['--state'], opts)]);
  if (ufw?.code === 0 && /^Status:\s*active/m.test(ufw.stdout)) return { enabled: true, product: 'ufw' };
  if (firewalld && firewalld.stdout.trim() === 'running') return { enabled: true, product: 'firewalld' };
  const nft = await run('nft', ['list', 'ruleset'], { ...opts, maxBytes: 16 * 1024 * 1024 });
  if (nft?.code === 0 && nftFiltersInput(nft.stdout)) return { enabled: true, product: 'nftables' };
  const ipt = await run('iptables', ['-S', 'INPUT'], opts);
  if (ipt?.code === 0 && iptablesFiltersInput(ipt.stdout)) return { enabled: true, product: 'iptables' };
  // A front end that is installed but off says more than "no firewall found".
  if (ufw?.code === 0) return { enabled: false, product: 'ufw' };
  if (firewalld) return { enabled: false, product: 'firewalld' };
  if (nft?.code === 0) return { enabled: false, product: 'nftables' };
  if (ipt?.code === 0) return { enabled: false, product: 'iptables' };
  return { enabled: null, product: null };
}

interface LsblkNode {
  name?: unknown;
  type?: unknown;
  fstype?: unknown;
  mountpoint?: unknown;
  mountpoints?: unknown;
  children?: LsblkNode[];
}

/**
 * Each mounted filesystem in an lsblk tree, encrypted when it or any ancestor is a dm-crypt mapping or a
 * LUKS container (covers LVM-on-LUKS and LUKS-on-RAID).
 */
export function encryptionFromLsblk(json: string): { mount: string; method: string | null }[] {
  let parsed: { blockdevices?: LsblkNode[] };
  try {
    parsed = JSON.parse(json) as { blockdevices?: LsblkNode[] };
  } catch {
    return [];
  }
  const out: { mount: string; method: string | null }[] = [];
  const walk = (node: LsblkNode, method: string | null) => {
    const here = node.fstype === 'crypto_LUKS' ? 'LUKS' : node.type === 'crypt' ? (method ?? 'dm-crypt') : method;
    const mounts = Array.isArray(node.mountpoints) ? node.mountpoints : [node.mountpoint];
    for (const mount of mounts) {
      if (typeof mount === 'string' && mount.startsWith('/')) out.push({ mount, method: here });
    }
    for (const child of node.children ?? []) walk(child, here);
  };
  for (const dev of parsed.blockdevices ?? []) walk(dev, null);
  return out;
}

/**
 * /boot and the EFI system partition hold only the kernel and boot loader and are unencrypted by design in
 * every full-disk-encryption layout; counting them would make "all volumes encrypted" false everywhere.
 */
const BOOT_MOUNT = /^\/(boot|efi)(\/|$)/;

async function diskEncryption(ctx: CollectContext): Promise<Security['diskEncryption']> {
  const res = await run('lsblk', ['-J', '-o', 'NAME,TYPE,FSTYPE,MOUNTPOINT'], {
    timeoutMs: 5000,
    maxBytes: 4 * 1024 * 1024,
    signal: ctx.signal,
  });
  if (!res || res.code !== 0) return [];
  const byMount = new Map(encryptionFromLsblk(res.stdout).map((e) => [e.mount, e.method]));
  const mounted = await localFilesystems();
  const out: Security['diskEncryption'] = [];
  for (const fs of mounted) {
    if (BOOT_MOUNT.test(fs.mount)) continue;
    // Filesystems lsblk cannot place (overlay roots, ZFS datasets) have no block device to judge.
    if (!byMount.has(fs.mount)) continue;
    const method = byMount.get(fs.mount) ?? null;
    out.push({ volume: fs.mount.slice(0, 1024), encrypted: method !== null, method });
  }
  return out.slice(0, 256);
}

async function sshdConfigs(): Promise<string[]> {
  const main = await readText('/etc/ssh/sshd_config', 256 * 1024);
  const dropIns = await readdir('/etc/ssh/sshd_config.d').catch(() => [] as string[]);
  const extra = await Promise.all(
    dropIns
      .filter((f) => f.endsWith('.conf'))
      .sort()
      .map((f) => readText(`/etc/ssh/sshd_config.d/${f}`, 256 * 1024)),
  );
  return [main, ...extra].filter((t): t is string => t !== null);
}

export async function collectSecurity(ctx: CollectContext): Promise<Security> {
  const [passwd, group, tcp, tcp6, configs, sshEnabled, rdpEnabled, fw, encryption] = await Promise.all([
    readText('/etc/passwd', 4 * 1024 * 1024),
    readText('/etc/group', 4 * 1024 * 1024),
    readText('/proc/net/tcp', 8 * 1024 * 1024),
    readText('/proc/net/tcp6', 8 * 1024 * 1024),
    sshdConfigs(),
    // Ubuntu ≥ 22.10 starts sshd through ssh.socket; Debian names the unit ssh, RHEL sshd.
    anyUnitEnabled(['ssh.service', 'sshd.service', 'ssh.socket', 'sshd.socket'], ctx),
    anyUnitEnabled(['xrdp.service'], ctx),
    firewall(ctx),
    diskEncryption(ctx),
  ]);
  const listening = listeningPorts(tcp, tcp6);
  return {
    localAdmins: localAdmins(passwd ?? '', group ?? ''),
    sshEnabled,
    sshListening: tcp === null && tcp6 === null ? null : sshPorts(configs).some((p) => listening.has(p)),
    rdpEnabled,
    firewall: fw,
    diskEncryption: encryption,
    antivirus: null,
  };
}
