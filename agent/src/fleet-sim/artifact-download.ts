/**
 * Devices download one depot artifact at the same moment, each with its own credentials and as the agent does
 * (`GET /agent/v1/artifacts/{sha256}`, identity encoding: agent/src/http.ts `openArtifact`), hashing the bytes as
 * they arrive and keeping none of them: the serving side of the depot under load (`npm run bench:depot`).
 */
import { createHash } from 'node:crypto';
import type { ArtifactManifest } from '@opsconductor/contracts/software';
import { Pool, request } from 'undici';
import { AGENT_VERSION } from '../version.ts';
import type { ArtifactFetch } from './software.ts';
import type { FleetCredential } from './state-file.ts';

export interface ArtifactDownload {
  index: number;
  deviceId: string;
  /** The HTTP status (0: the request failed before an answer). */
  status: number;
  bytes: number;
  /** SHA-256 of the bytes received, hex. */
  sha256: string;
  /** From the common start to the first byte of the body and to its end. */
  firstByteMs: number;
  ms: number;
  error?: string;
}

export interface DownloadOptions {
  /** Of each download, headers to last byte (default 30 minutes). */
  timeoutMs?: number;
}

export async function downloadArtifacts(
  serverUrl: string,
  devices: readonly FleetCredential[],
  sha256: string,
  opts: DownloadOptions = {},
): Promise<ArtifactDownload[]> {
  const url = new URL(serverUrl);
  const path = `${url.pathname.replace(/\/+$/, '')}/agent/v1/artifacts/${encodeURIComponent(sha256)}`;
  // A connection per device, apart from the fleet's long-poll pools, as each agent downloads on a connection of its own.
  const pool = new Pool(url.origin, { connections: Math.max(1, devices.length), pipelining: 1 });
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  const began = performance.now();
  try {
    return await Promise.all(
      devices.map(async (device): Promise<ArtifactDownload> => {
        const hash = createHash('sha256');
        let bytes = 0;
        let firstByteMs = -1;
        let status = 0;
        try {
          const res = await pool.request({
            path,
            method: 'GET',
            headers: {
              authorization: `Bearer ${device.deviceSecret}`,
              'user-agent': `opsconductor-fleet-sim/${AGENT_VERSION}`,
              'accept-encoding': 'identity',
            },
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
          });
          status = res.statusCode;
          for await (const chunk of res.body as AsyncIterable<Buffer>) {
            if (firstByteMs < 0) firstByteMs = performance.now() - began;
            hash.update(chunk);
            bytes += chunk.length;
          }
          return {
            index: device.index,
            deviceId: device.deviceId,
            status,
            bytes,
            sha256: hash.digest('hex'),
            firstByteMs,
            ms: performance.now() - began,
          };
        } catch (err) {
          return {
            index: device.index,
            deviceId: device.deviceId,
            status,
            bytes,
            sha256: hash.digest('hex'),
            firstByteMs,
            ms: performance.now() - began,
            error: (err as Error)?.message ?? String(err),
          };
        }
      }),
    );
  } finally {
    await pool.close();
  }
}

/**
 * One artifact of a software command, as the agent gets it (agent/src/depot): its sources in order — the depot with
 * the device's credentials, an http/s3 URL as it is; a share is not reachable from the simulator and is skipped —
 * until one gives the bytes of the manifest's size and SHA-256. The bytes are hashed as they arrive and not kept.
 */
export async function fetchManifestArtifact(
  serverUrl: string,
  deviceSecret: string,
  manifest: ArtifactManifest,
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<ArtifactFetch> {
  const base = serverUrl.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  let bytesDownloaded = 0;
  let mismatch = false;
  const failures: string[] = [];
  for (const source of manifest.sources) {
    if (source.kind === 'share') {
      failures.push(`${source.sourceId}: a share is not reachable from the simulator`);
      continue;
    }
    const depot = source.kind === 'depot';
    const url = depot ? `${base}/agent/v1/artifacts/${encodeURIComponent(manifest.sha256)}` : source.url;
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      const res = await request(url, {
        method: 'GET',
        headers: {
          ...(depot ? { authorization: `Bearer ${deviceSecret}` } : {}),
          'user-agent': `opsconductor-fleet-sim/${AGENT_VERSION}`,
          'accept-encoding': 'identity',
        },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        failures.push(`${source.sourceId}: HTTP ${res.statusCode}`);
        continue;
      }
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        hash.update(chunk);
        bytes += chunk.length;
        if (bytes > manifest.size) break;
      }
    } catch (err) {
      bytesDownloaded += bytes;
      if (opts.signal?.aborted) throw err;
      failures.push(`${source.sourceId}: ${(err as Error)?.message ?? String(err)}`);
      continue;
    }
    bytesDownloaded += bytes;
    if (bytes === manifest.size && hash.digest('hex') === manifest.sha256)
      return { ok: true, sourceId: source.sourceId, bytes: bytesDownloaded };
    mismatch = true;
    failures.push(`${source.sourceId}: the bytes do not match the manifest's size and SHA-256`);
  }
  return {
    ok: false,
    outcome: mismatch ? 'hash_mismatch' : 'download_failed',
    bytes: bytesDownloaded,
    detail: `no source gave ${manifest.fileName}: ${failures.join('; ')}`,
  };
}
