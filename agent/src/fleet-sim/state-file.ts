/**
 * Credentials of the virtual devices, kept between runs so a repeated run skips enrollment, and what each device
 * has installed and whether it went silent (so a restarted simulator still knows). The file holds device
 * secrets: it is written atomically with mode 0600, like the real agent's agent.json.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';

export const fleetCredential = z.object({
  index: z.number().int().min(0),
  hostname: z.string().min(1),
  deviceId: z.string().uuid(),
  deviceSecret: z.string().min(1),
});
export type FleetCredential = z.infer<typeof fleetCredential>;

/** Most package versions kept per device. */
export const MAX_INSTALLED_VERSIONS = 10_000;

/** A device in the file: its credentials, and (optional, absent in files of older simulators) its software state. */
export const fleetDeviceState = fleetCredential.extend({
  /** Installed package versions, by version ID. */
  software: z.array(z.string().uuid()).max(MAX_INSTALLED_VERSIONS).optional(),
  /** Went silent after an install (`silentAfterInstallRate`) and was not brought back since. */
  silent: z.boolean().optional(),
});
export type FleetDeviceState = z.infer<typeof fleetDeviceState>;

const stateFileSchema = z.object({
  version: z.literal(1),
  serverUrl: z.string(),
  devices: z.array(fleetDeviceState),
});

/** The saved devices for this server, by device index; none when the file is missing or for another server. */
export async function readFleetState(path: string, serverUrl: string): Promise<Map<number, FleetDeviceState>> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  const state = stateFileSchema.parse(JSON.parse(raw));
  if (state.serverUrl !== serverUrl) return new Map();
  return new Map(state.devices.map((d) => [d.index, d]));
}

export async function writeFleetState(path: string, serverUrl: string, devices: Iterable<FleetDeviceState>): Promise<void> {
  const body = JSON.stringify({ version: 1, serverUrl, devices: [...devices].sort((a, b) => a.index - b.index) });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, body, { mode: 0o600 });
  await rename(tmp, path);
}
