/**
 * Virtual agents download a depot artifact with their own credentials (the fleet simulator's `downloadArtifact`,
 * which `npm run bench:depot` runs at scale): those with an open command naming it get its bytes, the others 404.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depotArtifact } from '@opsconductor/contracts/api';
import { startFleet, type Fleet } from '../../agent/src/fleet-sim/index.ts';
import { grantArtifactDownloads } from '../bench/lib/depot-grants.ts';
import { startTestApi, type TestApi } from '../support/api.ts';

let t: TestApi;
let fleet: Fleet | undefined;

beforeAll(async () => {
  t = await startTestApi();
}, 60_000);
afterAll(async () => {
  await fleet?.stop();
  await t?.close();
});

describe('the fleet simulator', () => {
  it('downloads an artifact on the devices an open command lets, verifying each SHA-256', async () => {
    const admin = await t.tokenFor('admin');
    const content = Buffer.from(Array.from({ length: 3_000_000 }, (_, i) => (i * 7) % 253));
    const upload = await t.request('/api/v1/depot/artifacts?fileName=payload.bin', {
      method: 'POST',
      token: admin,
      headers: { 'content-type': 'application/octet-stream' },
      body: content,
    });
    expect(upload.status).toBe(201);
    const artifact = depotArtifact.parse(await upload.json());
    const token = (await (
      await t.request('/api/v1/enrollment-tokens', { method: 'POST', token: admin, json: { name: 'dl', maxUses: 3 } })
    ).json()) as {
      token: string;
    };
    fleet = await startFleet({ serverUrl: t.url, enrollmentToken: token.token, agents: 3, rampPerSecond: Infinity });
    await fleet.ready;
    // Offline, so no poll picks the commands up: the download needs only the credentials.
    await fleet.goOffline({});
    const devices = fleet.devices();
    await grantArtifactDownloads(t.database.db, artifact.id, [devices[0]!.deviceId!, devices[1]!.deviceId!]);

    const downloads = await fleet.downloadArtifact(undefined, artifact.sha256);
    expect(downloads.map((d) => [d.index, d.status, d.bytes])).toEqual([
      [0, 200, content.length],
      [1, 200, content.length],
      [2, 404, expect.any(Number)],
    ]);
    const expected = createHash('sha256').update(content).digest('hex');
    expect(downloads.slice(0, 2).map((d) => d.sha256)).toEqual([expected, expected]);
    expect(downloads[0]!.firstByteMs).toBeLessThanOrEqual(downloads[0]!.ms);
  });
});
