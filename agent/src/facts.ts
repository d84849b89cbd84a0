/**
 * Device facts sent at enrollment and every check-in. Everything is clipped to the protocol's limits
 * so a strange host (a 300-character hostname, 200 addresses) still checks in instead of being refused.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { deviceFacts, type DeviceFacts } from '@opsconductor/contracts/agent-protocol';
import { AGENT_VERSION } from './version.ts';

const MAX_ADDRESSES = 64;

export function osFamily(platform: NodeJS.Platform = process.platform): DeviceFacts['osFamily'] {
  switch (platform) {
    case 'linux':
      return 'linux';
    case 'win32':
      return 'windows';
    case 'darwin':
      return 'macos';
    default:
      return 'other';
  }
}

/** Parses os-release(5): KEY=value lines, values optionally quoted with shell-style escapes. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2]!.trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\([\\"$`])/g, '$1');
    }
    out[match[1]!] = value;
  }
  return out;
}

async function linuxRelease(): Promise<Record<string, string>> {
  for (const file of ['/etc/os-release', '/usr/lib/os-release']) {
    try {
      return parseOsRelease(await readFile(file, 'utf8'));
    } catch {
      // Try the next location; minimal containers may have neither.
    }
  }
  return {};
}

function macProductVersion(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('sw_vers', ['-productVersion'], { timeout: 5000, windowsHide: true }, (err, stdout) => {
      resolve(err ? undefined : stdout.trim() || undefined);
    });
  });
}

/** Non-internal addresses, de-duplicated, capped. Link-local IPv6 is kept: it can still identify a host. */
export function ipAddresses(interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): string[] {
  const seen = new Set<string>();
  for (const list of Object.values(interfaces)) {
    for (const info of list ?? []) {
      if (info.internal) continue;
      seen.add(info.address);
      if (seen.size >= MAX_ADDRESSES) return [...seen];
    }
  }
  return [...seen];
}

const clip = (value: string, max: number) => (value.length > max ? value.slice(0, max) : value);

export async function collectFacts(): Promise<DeviceFacts> {
  const family = osFamily();
  let osName = os.type();
  let osVersion = os.release();
  if (family === 'linux') {
    const release = await linuxRelease();
    osName = release.PRETTY_NAME || release.NAME || osName;
    osVersion = release.VERSION_ID || osVersion;
  } else if (family === 'windows') {
    osName = os.version() || osName; // e.g. "Windows 11 Pro"; os.release() is the build, e.g. 10.0.22631
  } else if (family === 'macos') {
    osName = 'macOS';
    osVersion = (await macProductVersion()) ?? osVersion;
  }

  return deviceFacts.parse({
    hostname: clip(os.hostname() || 'unknown', 255),
    osFamily: family,
    osName: clip(osName, 200),
    osVersion: clip(osVersion, 100),
    architecture: clip(os.arch(), 50),
    ipAddresses: ipAddresses().map((address) => clip(address, 64)),
    agentVersion: clip(AGENT_VERSION, 50),
  });
}
