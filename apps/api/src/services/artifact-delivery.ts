/**
 * Signed artifact manifests, made when a software command is delivered (ADR 23). The stored payload names its
 * artifacts by ID (`artifactIds`); the agent gets, for each, a manifest signed now with the active depot key:
 * the package version, the file's name, size and SHA-256, and the sources that hold it in the order this device
 * should try them — sources for one of its subnets first, then those for every device, each group by priority.
 * A source limited to other subnets is not listed (it serves another site). Disabled sources are never listed.
 * A command of a deployment whose network policy names sources (`strategy.network.sourceIds`) lists only those (in
 * the same order): a deployment may keep a large rollout off the WAN or off the server itself.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { CommandPayloadOf } from '@opsconductor/contracts/commands';
import {
  MAX_ARTIFACT_SOURCES,
  type ArtifactManifest,
  type ArtifactSource,
  type SignedManifest,
  type SoftwareDependency,
} from '@opsconductor/contracts/software';
import type { ApiDeps } from '../context.ts';
import { s3ArtifactUrl } from './depot-s3.ts';

/** How long a presigned S3 URL in a manifest stays valid beyond the command's timeout (the command may wait in the agent's queue). */
const PRESIGN_GRACE_SECONDS = 3600;
/** The longest a SigV4 presigned URL may be valid. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export type SoftwarePayload = CommandPayloadOf<'software.install' | 'software.uninstall'>;

interface LocationRow {
  artifact_id: string;
  file_name: string;
  size: string;
  sha256: string;
  source_id: string | null;
  kind: ArtifactSource['kind'] | null;
  priority: number | null;
  settings: Record<string, unknown> | null;
  subnets: string[] | null;
  path: string | null;
}

/** The standard place of an artifact under a source's root. */
export const artifactObjectPath = (sha256: string): string => `${sha256.slice(0, 2)}/${sha256}`;

/** Whether one of `addresses` is in one of `cidrs` (malformed entries match nothing). */
export function inSubnets(addresses: readonly string[], cidrs: readonly string[]): boolean {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [net, bits] = cidr.split('/');
    const prefix = Number(bits);
    if (!net || !Number.isInteger(prefix)) continue;
    try {
      if (isIPv4(net)) list.addSubnet(net, prefix, 'ipv4');
      else if (isIPv6(net)) list.addSubnet(net, prefix, 'ipv6');
    } catch {
      // a prefix out of range: matches nothing
    }
  }
  return addresses.some((a) => (isIPv4(a) ? list.check(a, 'ipv4') : isIPv6(a) ? list.check(a, 'ipv6') : false));
}

async function sourceOf(deps: ApiDeps, row: LocationRow, expiresInSeconds: number): Promise<ArtifactSource | undefined> {
  const sourceId = row.source_id!;
  const objectPath = row.path ?? artifactObjectPath(row.sha256);
  const settings = row.settings ?? {};
  switch (row.kind) {
    case 'depot':
      return { kind: 'depot', sourceId };
    case 'http':
      return { kind: 'http', sourceId, url: `${String(settings.baseUrl).replace(/\/+$/, '')}/${objectPath}` };
    case 's3':
      return { kind: 's3', sourceId, url: await s3ArtifactUrl(deps, { id: sourceId, settings }, objectPath, expiresInSeconds) };
    case 'share': {
      const { uncPath, mountPath } = settings as { uncPath?: string; mountPath?: string };
      return {
        kind: 'share',
        sourceId,
        ...(uncPath ? { uncPath: `${uncPath.replace(/\\+$/, '')}\\${objectPath.replaceAll('/', '\\')}` } : {}),
        ...(mountPath ? { mountPath: `${mountPath.replace(/\/+$/, '')}/${objectPath}` } : {}),
      };
    }
    default:
      return undefined;
  }
}

/** One version's artifacts signed for a device at `addresses`: a manifest per artifact some enabled source holds. */
async function signedArtifacts(
  deps: ApiDeps,
  addresses: readonly string[],
  version: Pick<SoftwareDependency, 'package' | 'artifactIds'>,
  expiresIn: number,
  onlySources: ReadonlySet<string> | null,
): Promise<SignedManifest[]> {
  const ids = version.artifactIds ?? [];
  const { rows } = await deps.agentPool.query<LocationRow>(
    `SELECT a.id AS artifact_id, a.file_name, a.size::text, a.sha256, s.id AS source_id, s.kind, s.priority, s.settings, s.subnets, l.path
       FROM artifacts a
       LEFT JOIN artifact_locations l ON l.artifact_id = a.id
       LEFT JOIN depot_sources s ON s.id = l.source_id AND s.enabled
      WHERE a.id = ANY($1::uuid[])`,
    [ids],
  );
  const issuedAt = new Date().toISOString();
  const artifacts: SignedManifest[] = [];
  for (const id of ids) {
    const locations = rows.filter((r) => r.artifact_id === id);
    const first = locations[0];
    if (!first) continue;
    const ranked = locations
      .filter((r) => r.source_id !== null && (onlySources === null || onlySources.has(r.source_id)))
      .map((r) => ({ r, rank: (r.subnets ?? []).length === 0 ? 1 : inSubnets(addresses, r.subnets!) ? 0 : -1 }))
      .filter((x) => x.rank >= 0)
      .sort((a, b) => a.rank - b.rank || a.r.priority! - b.r.priority! || a.r.source_id!.localeCompare(b.r.source_id!));
    const sources: ArtifactSource[] = [];
    for (const { r } of ranked.slice(0, MAX_ARTIFACT_SOURCES)) {
      try {
        const source = await sourceOf(deps, r, expiresIn);
        if (source) sources.push(source);
      } catch (err) {
        deps.logger.warn({ sourceId: r.source_id, error: (err as Error).message }, 'a depot source could not be put in a manifest');
      }
    }
    if (sources.length === 0) {
      deps.logger.warn(
        { artifactId: id, onlySources: onlySources && [...onlySources] },
        onlySources
          ? "none of the deployment's sources holds an artifact of its command"
          : 'no enabled source holds an artifact of a software command',
      );
      continue;
    }
    const manifest: ArtifactManifest = {
      v: 1,
      packageName: version.package.name,
      packageVersion: version.package.version,
      versionId: version.package.versionId,
      fileName: first.file_name,
      size: Number(first.size),
      sha256: first.sha256,
      sources,
      issuedAt,
    };
    try {
      artifacts.push(await deps.depotSigning.sign(JSON.stringify(manifest)));
    } catch (err) {
      deps.logger.warn({ artifactId: id, error: (err as Error).message }, 'an artifact manifest could not be signed');
    }
  }
  return artifacts;
}

/** The sources a run's deployment restricts its downloads to (`strategy.network.sourceIds`), or null: no restriction. */
async function deploymentSources(deps: ApiDeps, jobRunId: string): Promise<Set<string> | null> {
  const { rows } = await deps.agentPool.query<{ source_ids: unknown }>(
    `SELECT d.options->'network'->'sourceIds' AS source_ids FROM job_runs jr JOIN deployments d ON d.id = jr.deployment_id WHERE jr.id = $1`,
    [jobRunId],
  );
  const ids = rows[0]?.source_ids;
  // An empty list restricts nothing (as leaving it out).
  return Array.isArray(ids) && ids.length > 0 ? new Set(ids.filter((id): id is string => typeof id === 'string')) : null;
}

/**
 * The payload as the device gets it: `artifacts` signed for it, its dependencies' too. `artifactIds` stays, so an
 * agent can tell an artifact the server could not sign (no signing key, the artifact gone) from a version without.
 */
export async function withSignedArtifacts(
  deps: ApiDeps,
  deviceId: string,
  payload: SoftwarePayload,
  jobRunId: string | null = null,
): Promise<SoftwarePayload> {
  const versions = [payload, ...(payload.dependencies ?? [])];
  if (!versions.some((v) => v.artifactIds?.length)) return payload;
  const device = await deps.agentPool.query<{ ip_addresses: string[] }>('SELECT ip_addresses FROM devices WHERE id = $1', [deviceId]);
  const addresses = device.rows[0]?.ip_addresses ?? [];
  const onlySources = jobRunId ? await deploymentSources(deps, jobRunId) : null;
  // Valid for the whole command: a dependency's artifacts are fetched when its turn comes.
  const expiresIn = Math.min(MAX_PRESIGN_SECONDS, payload.timeoutSeconds + PRESIGN_GRACE_SECONDS);
  const sign = async <V extends SoftwareDependency>(v: V): Promise<V> =>
    v.artifactIds?.length ? { ...v, artifacts: await signedArtifacts(deps, addresses, v, expiresIn, onlySources) } : v;
  const signed = await sign(payload);
  return payload.dependencies ? { ...signed, dependencies: await Promise.all(payload.dependencies.map(sign)) } : signed;
}
