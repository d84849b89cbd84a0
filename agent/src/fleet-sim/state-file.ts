/**
 * Credentials of the virtual devices, kept between runs so a repeated run skips enrollment. The file holds
 * device secrets: it is written atomically with mode 0600, like the real agent's agent.json.
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

const stateFileSchema = z.object({
  version: z.literal(1),
  serverUrl: z.string(),
  devices: z.array(fleetCredential),
});

/** The saved credentials for this server, by device index; none when the file is missing or for another server. */
export async function readFleetState(path: string, serverUrl: string): Promise<Map<number, FleetCredential>> {
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

export async function writeFleetState(path: string, serverUrl: string, devices: Iterable<FleetCredential>): Promise<void> {
  const body = JSON.stringify({ version: 1, serverUrl, devices: [...devices].sort((a, b) => a.index - b.index) });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, body, { mode: 0o600 });
  await rename(tmp, path);
}
