/**
 * Mounted local filesystems with their sizes, shared by the hardware, performance and security sections.
 * Only disk-backed types are kept: pseudo filesystems are noise, and a network filesystem's statfs can
 * hang for minutes when its server is gone.
 */
import { stat, statfs } from 'node:fs/promises';
import { readText, withTimeout } from '../io.ts';

export const LOCAL_FS_TYPES = new Set([
  'ext2',
  'ext3',
  'ext4',
  'xfs',
  'btrfs',
  'vfat',
  'exfat',
  'ntfs',
  'ntfs3',
  'fuseblk',
  'zfs',
  'f2fs',
  'jfs',
  'reiserfs',
  'bcachefs',
  'hfsplus',
  'ufs',
]);

export interface MountEntry {
  device: string;
  mount: string;
  fsType: string;
}

/** /proc/mounts escapes space, tab, newline and backslash as octal (\040 …). */
function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export function parseMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const [device, mount, fsType] = line.split(' ');
    if (!device || !mount || !fsType) continue;
    out.push({ device: unescapeMount(device), mount: unescapeMount(mount), fsType });
  }
  return out;
}

/**
 * Local filesystems, one per mount point (the last mount on a path is the visible one). The root is kept
 * whatever its type: in a container it is an overlay, and it is still where the disk space goes.
 */
export function selectLocalMounts(entries: MountEntry[]): MountEntry[] {
  const byMount = new Map<string, MountEntry>();
  for (const entry of entries) {
    if (entry.mount === '/' || LOCAL_FS_TYPES.has(entry.fsType)) byMount.set(entry.mount, entry);
    else byMount.delete(entry.mount); // something else was mounted over it
  }
  return [...byMount.values()].sort((a, b) => (a.mount < b.mount ? -1 : a.mount > b.mount ? 1 : 0));
}

export interface Usage {
  /** Space ordinary users can fill: used + free. Root's reserved blocks are not counted, as in df's Use%. */
  sizeBytes: number;
  /** Available to unprivileged users (df's Avail). */
  freeBytes: number;
  /** Blocks in use (df's Used). */
  usedBytes: number;
}

export interface FilesystemUsage extends MountEntry, Usage {}

/** The statfs(2) counts df reads: `bfree` includes the blocks reserved for root, `bavail` does not. */
export interface StatfsBlocks {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
}

/**
 * Usage as df computes Use%: used / (used + available). Taking all blocks as the size instead made
 * size − free (the hardware section) and used (performance) disagree by the reserve — 71 % against
 * 7 % on a host whose filesystem reserves most of its blocks — so every consumer now reads one
 * consistent triple: size = used + free.
 */
export function usageFromStatfs(fs: StatfsBlocks): Usage | null {
  if (!(fs.blocks > 0) || !(fs.bsize > 0)) return null;
  const usedBytes = Math.max(0, fs.blocks - fs.bfree) * fs.bsize;
  const freeBytes = Math.max(0, Math.min(fs.bavail, fs.blocks)) * fs.bsize;
  const sizeBytes = usedBytes + freeBytes;
  if (!Number.isSafeInteger(sizeBytes)) return null;
  return { sizeBytes, freeBytes, usedBytes };
}

const MAX_FILESYSTEMS = 256;

export async function localFilesystems(): Promise<FilesystemUsage[]> {
  const text = (await readText('/proc/self/mounts', 4 * 1024 * 1024)) ?? (await readText('/proc/mounts', 4 * 1024 * 1024));
  if (!text) return [];
  const mounts = selectLocalMounts(parseMounts(text));
  const results = await Promise.all(
    mounts.map(async (entry) => {
      // Containers bind-mount single files (/etc/hosts, /etc/resolv.conf) from the host disk: not filesystems.
      const isDir = await withTimeout(
        stat(entry.mount).then((s) => s.isDirectory()),
        2000,
        false,
      );
      if (!isDir) return null;
      const fs = await withTimeout(
        statfs(entry.mount).catch(() => null),
        2000,
        null,
      );
      const usage = fs ? usageFromStatfs(fs) : null;
      return usage ? { ...entry, ...usage } : null;
    }),
  );
  return results.filter((r): r is FilesystemUsage => r !== null).slice(0, MAX_FILESYSTEMS);
}
