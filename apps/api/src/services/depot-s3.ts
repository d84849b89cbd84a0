/**
 * S3-compatible depot sources (ADR 23): AWS S3, MinIO, Ceph RGW and the like. Artifacts are objects at
 * `<prefix><aa>/<sha256>` (or `<prefix><path>` for a location recorded with a path); agents fetch them through presigned
 * GET URLs the server puts in each signed manifest, so they never hold the bucket's credentials. The secret access key
 * is in the secret store (owner `depot_source`, the source's ID), never in the source's `settings` nor in an answer.
 */
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { SecretRef } from '@opsconductor/secrets';
import type { ApiDeps } from '../context.ts';

export const DEPOT_SOURCE_SECRET_OWNER = 'depot_source';
const SECRET_PURPOSE = 's3_secret_access_key';
/** How long one S3 request may take to connect and answer its headers (an upload's body may take longer). */
const S3_CONNECT_TIMEOUT_MS = 5000;

/** The settings an S3 source keeps in `depot_sources.settings` (the secret is not among them). */
export interface S3Settings {
  endpoint: string;
  region: string;
  bucket: string;
  prefix: string;
  forcePathStyle: boolean;
  accessKeyId: string;
}

export const s3SecretRef = (sourceId: string): SecretRef => ({
  ownerType: DEPOT_SOURCE_SECRET_OWNER,
  ownerId: sourceId,
  purpose: SECRET_PURPOSE,
});

/** The object path of an artifact at the default layout, below the prefix. */
export const defaultObjectPath = (sha256: string) => `${sha256.slice(0, 2)}/${sha256}`;

/** Reads the stored settings of an S3 source (as createSource wrote them: validated, without the secret). */
function s3Settings(settings: Record<string, unknown>): S3Settings {
  const s = settings as Partial<S3Settings>;
  if (typeof s.endpoint !== 'string' || typeof s.bucket !== 'string' || typeof s.accessKeyId !== 'string') {
    throw new Error('not the settings of an S3 source');
  }
  return {
    endpoint: s.endpoint,
    region: typeof s.region === 'string' ? s.region : 'us-east-1',
    bucket: s.bucket,
    prefix: typeof s.prefix === 'string' ? s.prefix : '',
    forcePathStyle: s.forcePathStyle === true,
    accessKeyId: s.accessKeyId,
  };
}

/** A bucket of an S3 source with a client holding its credentials (read from the secret store). */
export interface S3Bucket {
  client: S3Client;
  settings: S3Settings;
  key(objectPath: string): string;
}

type S3Deps = Pick<ApiDeps, 'secrets'> & Partial<Pick<ApiDeps, 'logger'>>;

export async function s3Bucket(deps: S3Deps, source: { id: string; settings: Record<string, unknown> }): Promise<S3Bucket> {
  const settings = s3Settings(source.settings);
  const secretAccessKey = await deps.secrets.revealText(s3SecretRef(source.id));
  if (secretAccessKey === null) throw new Error('the secret access key of this S3 source is missing from the secret store');
  const client = new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey },
    // S3-compatible servers (older MinIO, Ceph, s3rver) refuse the aws-chunked uploads with trailing CRC checksums the
    // SDK sends by default; integrity is the SHA-256 the agents check anyway.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
    // The SDK warns on the console without a logger; what fails is reported by the caller, so its chatter is debug.
    logger: {
      trace: () => {},
      debug: (...args: unknown[]) => deps.logger?.debug({ s3: args }, 's3 client'),
      info: (...args: unknown[]) => deps.logger?.debug({ s3: args }, 's3 client'),
      warn: (...args: unknown[]) => deps.logger?.debug({ s3: args }, 's3 client'),
      error: (...args: unknown[]) => deps.logger?.debug({ s3: args }, 's3 client'),
    },
    requestHandler: { connectionTimeout: S3_CONNECT_TIMEOUT_MS, requestTimeout: 0 },
  });
  return { client, settings, key: (objectPath) => `${settings.prefix}${objectPath}` };
}

/** How long the presigning client of a source (holding its revealed secret) is reused. */
const PRESIGNER_TTL_MS = 60_000;
/** Per secret store (one per API process): the presigning clients, so 10,000 deliveries do not each read the secret. */
const presigners = new WeakMap<object, Map<string, { settings: string; at: number; bucket: Promise<S3Bucket> }>>();

/** Drops the cached presigning client of a source whose settings or secret changed (or that was removed). */
export function forgetS3Source(deps: Pick<ApiDeps, 'secrets'>, sourceId: string): void {
  const cached = presigners.get(deps.secrets)?.get(sourceId);
  if (!cached) return;
  presigners.get(deps.secrets)!.delete(sourceId);
  void cached.bucket.then((b) => b.client.destroy()).catch(() => {});
}

function presigner(deps: S3Deps, source: { id: string; settings: Record<string, unknown> }): Promise<S3Bucket> {
  let bySource = presigners.get(deps.secrets);
  if (!bySource) presigners.set(deps.secrets, (bySource = new Map()));
  const settings = JSON.stringify(source.settings);
  const cached = bySource.get(source.id);
  if (cached && cached.settings === settings && Date.now() - cached.at < PRESIGNER_TTL_MS) return cached.bucket;
  if (cached) forgetS3Source(deps, source.id);
  const bucket = s3Bucket(deps, source);
  bySource.set(source.id, { settings, at: Date.now(), bucket });
  // A failure (the secret missing) is not kept: the next call tries again.
  bucket.catch(() => bySource.get(source.id)?.bucket === bucket && bySource.delete(source.id));
  return bucket;
}

/**
 * A presigned GET URL of an object of an S3 source, valid for `expiresInSeconds`: what a signed manifest hands an
 * agent. `objectPath` is relative to the source's prefix (`<aa>/<sha256>`, or a location's recorded path). Signing is
 * local (no request to the bucket); the source's client and secret are kept for up to a minute.
 */
export async function s3ArtifactUrl(
  deps: S3Deps,
  source: { id: string; settings: Record<string, unknown> },
  objectPath: string,
  expiresInSeconds: number,
): Promise<string> {
  const bucket = await presigner(deps, source);
  return getSignedUrl(bucket.client, new GetObjectCommand({ Bucket: bucket.settings.bucket, Key: bucket.key(objectPath) }), {
    expiresIn: expiresInSeconds,
  });
}

/** Why an S3 call failed, in words fit for a health record or a replication summary (never a credential). */
export function s3Failure(err: unknown): string {
  const e = err as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number }; cause?: { code?: string } };
  const status = e.$metadata?.httpStatusCode;
  const code = e.code ?? e.cause?.code;
  if (code) return code;
  if (status) return `${e.name ?? 'error'} (HTTP ${status})`;
  return e.name && e.name !== 'Error' ? e.name : (e.message ?? 'error');
}

/** Whether the bucket answers HeadBucket with these credentials. */
export async function s3Health(deps: S3Deps, source: { id: string; settings: Record<string, unknown> }) {
  let bucket: S3Bucket;
  try {
    bucket = await s3Bucket(deps, source);
  } catch (err) {
    return { reachable: false, freeBytes: null, error: (err as Error).message };
  }
  try {
    await bucket.client.send(new HeadBucketCommand({ Bucket: bucket.settings.bucket }), { abortSignal: AbortSignal.timeout(10_000) });
    return { reachable: true, freeBytes: null, error: null };
  } catch (err) {
    return { reachable: false, freeBytes: null, error: `${bucket.settings.endpoint} bucket ${bucket.settings.bucket}: ${s3Failure(err)}` };
  } finally {
    bucket.client.destroy();
  }
}

/** The size of an object, or null when there is none. */
export async function s3ObjectSize(bucket: S3Bucket, objectPath: string): Promise<number | null> {
  try {
    const head = await bucket.client.send(new HeadObjectCommand({ Bucket: bucket.settings.bucket, Key: bucket.key(objectPath) }));
    return head.ContentLength ?? null;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
    throw err;
  }
}

/** Uploads `body` (streamed: never whole in memory) of exactly `size` bytes to `objectPath`. */
export async function s3Put(bucket: S3Bucket, objectPath: string, body: ReadableStream<Uint8Array>, size: number): Promise<void> {
  await bucket.client.send(
    new PutObjectCommand({
      Bucket: bucket.settings.bucket,
      Key: bucket.key(objectPath),
      Body: Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>),
      ContentLength: size,
      ContentType: 'application/octet-stream',
    }),
  );
}
