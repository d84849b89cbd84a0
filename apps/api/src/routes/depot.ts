/**
 * The software depot (ADR 23): artifacts (streamed upload, import from a URL, registration on a share, list, look up,
 * delete), the signing keys, and the sources agents download from (with health checks and replication).
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../context.ts';
import {
  artifactFileName,
  depotArtifact,
  depotArtifactList,
  depotArtifactListQuery,
  createDepotSourceBody,
  depotSource,
  depotSourceList,
  updateDepotSourceBody,
  depotSigningKeyInfo,
  depotSigningKeyList,
  depotReplicationSummary,
  depotArtifactReplication,
  fileContent,
  importDepotArtifactBody,
  registerDepotArtifactBody,
  uuid,
  type DepotSigningKeyInfo,
} from '@opsconductor/contracts/api';
import { body, createRouter, json } from '../lib/router.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { audit, requestOrigin } from '../lib/audit.ts';
import { ApiError, documentedProblem, problemResponses } from '../lib/problem.ts';
import { uploadBody } from '../lib/upload.ts';
import { deleteArtifact, getArtifact, listArtifacts, uploadArtifact } from '../services/depot.ts';
import { checkSource, createSource, deleteSource, listSources, updateSource } from '../services/depot-sources.ts';
import { importArtifact, registerShareArtifact } from '../services/depot-intake.ts';
import { replicateArtifact, replicateSource } from '../services/depot-replication.ts';

const security = [{ bearerAuth: [] }];
const tags = ['depot'];
const operator = [authenticate, requireRole('operator')];
const artifactId = z.object({ id: uuid.describe("The artifact's ID") });

const upload = createRoute({
  method: 'post',
  path: '/depot/artifacts',
  operationId: 'uploadDepotArtifact',
  tags,
  summary: 'Upload an artifact to the built-in depot (operator)',
  description:
    'The body is the file itself (`application/octet-stream`), streamed to the built-in depot (DEPOT_DIR) and hashed as it arrives; nothing is held in memory. The same content uploaded again is the same artifact (200, keeping its first file name). Larger than DEPOT_UPLOAD_MAX_BYTES: 413, and nothing is kept.',
  security,
  middleware: operator,
  request: {
    query: z.object({
      fileName: artifactFileName.describe('The file name agents save it under (the installer keeps its name: some need it)'),
    }),
    body: { content: { 'application/octet-stream': { schema: fileContent } }, required: true },
  },
  responses: {
    200: json(depotArtifact, 'Already in the depot'),
    201: json(depotArtifact, 'Stored'),
    413: documentedProblem('Larger than DEPOT_UPLOAD_MAX_BYTES'),
    415: documentedProblem('Not `application/octet-stream`'),
    ...problemResponses,
  },
});
const importRoute = createRoute({
  method: 'post',
  path: '/depot/artifacts/import',
  operationId: 'importDepotArtifact',
  tags,
  summary: 'Import an artifact from an http(s) URL into the built-in depot (operator)',
  description:
    "The server fetches the URL **from its own network** (so it reaches what the server reaches, intranet hosts included: that is why it is for operators only, and audited with the URL), following at most 5 redirects to http(s) URLs, and stores the body as an upload is stored: streamed, hashed, at most DEPOT_UPLOAD_MAX_BYTES. With `sha256`, bytes with another hash are refused (422 `hash_mismatch`, nothing kept). The URL's server failing (no answer, not 200, too large, stalling 60 s) is 422 `import_failed`. The same content again is the same artifact (200).",
  security,
  middleware: operator,
  request: body(importDepotArtifactBody),
  responses: {
    200: json(depotArtifact, 'Already in the depot'),
    201: json(depotArtifact, 'Imported'),
    422: documentedProblem('The URL could not be fetched (`import_failed`) or its bytes have another SHA-256 (`hash_mismatch`)'),
    ...problemResponses,
  },
});
const registerRoute = createRoute({
  method: 'post',
  path: '/depot/artifacts/register',
  operationId: 'registerDepotArtifact',
  tags,
  summary: 'Register a file already on a share as an artifact, where it is (operator)',
  description:
    "For a share source with a `mountPath`: the server hashes the file at `path` (relative to the share's root) in place and reads its metadata; nothing is copied into the built-in depot, so agents download it from the share (the artifact's only location). A file already in the depot (same SHA-256) is that artifact (200), now also at this path.",
  security,
  middleware: operator,
  request: body(registerDepotArtifactBody),
  responses: {
    200: json(depotArtifact, 'Already in the depot; the location is recorded'),
    201: json(depotArtifact, 'Registered'),
    409: documentedProblem('The source is not a share the server has mounted'),
    ...problemResponses,
  },
});
const list = createRoute({
  method: 'get',
  path: '/depot/artifacts',
  operationId: 'listDepotArtifacts',
  tags,
  summary: "The depot's artifacts, newest first",
  security,
  middleware: [authenticate],
  request: { query: depotArtifactListQuery },
  responses: { 200: json(depotArtifactList, 'A page of artifacts'), ...problemResponses },
});
const get = createRoute({
  method: 'get',
  path: '/depot/artifacts/{id}',
  operationId: 'getDepotArtifact',
  tags,
  summary: 'An artifact: its size, SHA-256, file name, what was read from it, how many package versions use it',
  security,
  middleware: [authenticate],
  request: { params: artifactId },
  responses: { 200: json(depotArtifact, 'The artifact'), ...problemResponses },
});
const remove = createRoute({
  method: 'delete',
  path: '/depot/artifacts/{id}',
  operationId: 'deleteDepotArtifact',
  tags,
  summary: 'Delete an artifact no package version uses, with its bytes (operator)',
  description: 'While a package version uses the artifact (so a deployment or a rollback may need it), 409 `artifact_in_use`.',
  security,
  middleware: operator,
  request: { params: artifactId },
  responses: { 204: { description: 'Deleted' }, 409: documentedProblem('A package version uses it'), ...problemResponses },
});

const admin = [authenticate, requireRole('admin')];
const keyId = z.object({ keyId: z.string().uuid().describe("The key's ID") });
const listSigningKeys = createRoute({
  method: 'get',
  path: '/depot/signing-keys',
  operationId: 'listDepotSigningKeys',
  tags,
  summary: 'The keys the depot signs artifact manifests with, newest first (admin)',
  security,
  middleware: admin,
  responses: { 200: json(depotSigningKeyList, 'The keys'), ...problemResponses },
});
const createSigningKey = createRoute({
  method: 'post',
  path: '/depot/signing-keys',
  operationId: 'createDepotSigningKey',
  tags,
  summary: 'Start a key rotation: a new pending key, published to agents at their next check-in, signing nothing yet (admin)',
  description:
    'The private half goes to the secret store (needs SECRETS_MASTER_KEYS). Activate the key once the fleet has checked in (docs/operations.md, "Depot signing keys").',
  security,
  middleware: admin,
  responses: { 201: json(depotSigningKeyInfo, 'Created, pending'), ...problemResponses },
});
const activateSigningKey = createRoute({
  method: 'post',
  path: '/depot/signing-keys/{keyId}/activate',
  operationId: 'activateDepotSigningKey',
  tags,
  summary: 'Sign with a pending key from now on; the active one becomes previous, still published (admin)',
  security,
  middleware: admin,
  request: { params: keyId },
  responses: { 200: json(depotSigningKeyInfo, 'Active'), 409: documentedProblem('The key is not pending'), ...problemResponses },
});
const retireSigningKey = createRoute({
  method: 'post',
  path: '/depot/signing-keys/{keyId}/retire',
  operationId: 'retireDepotSigningKey',
  tags,
  summary: 'Stop publishing a previous or pending key and delete its private half (admin)',
  description:
    'Agents stop trusting it at their next check-in; manifests it signed no longer verify. The active key cannot be retired (409).',
  security,
  middleware: admin,
  request: { params: keyId },
  responses: {
    200: json(depotSigningKeyInfo, 'Retired'),
    409: documentedProblem('The key is active or already retired'),
    ...problemResponses,
  },
});

async function signingKeyInfo(c: Context<AppEnv>, id: string): Promise<DepotSigningKeyInfo> {
  const key = (await c.var.deps.depotSigning.list()).find((k) => k.keyId === id);
  if (!key) throw new ApiError(404, 'not_found');
  return key;
}

async function changeSigningKey(c: Context<AppEnv>, id: string, change: 'activate' | 'retire'): Promise<DepotSigningKeyInfo> {
  const before = await signingKeyInfo(c, id);
  if (!(await c.var.deps.depotSigning[change](id))) {
    throw new ApiError(
      409,
      'conflict',
      change === 'activate'
        ? `The key is ${before.state}, not pending.`
        : `The key is ${before.state}: only a previous or pending key can be retired.`,
    );
  }
  await audit(c, { action: `depot_signing_key.${change}`, targetType: 'depot_signing_key', targetId: id, details: { from: before.state } });
  return signingKeyInfo(c, id);
}

const sourceId = z.object({ id: uuid.describe("The source's ID") });
const listSourcesRoute = createRoute({
  method: 'get',
  path: '/depot/sources',
  operationId: 'listDepotSources',
  tags,
  summary: 'Where agents download artifacts from: the built-in depot, mirrors and shares, by priority, with their last health check',
  security,
  middleware: [authenticate],
  responses: { 200: json(depotSourceList, 'The sources'), ...problemResponses },
});
const createSourceRoute = createRoute({
  method: 'post',
  path: '/depot/sources',
  operationId: 'createDepotSource',
  tags,
  summary: 'Add an S3-compatible bucket, an HTTP(S) mirror or an SMB share (admin)',
  description:
    "Agents whose address is in `subnets` try the source before the others; among the rest, lower `priority` first. Artifacts are at `<aa>/<sha256>` below the mirror URL or share path, or the bucket's key prefix. An S3 source's `secretAccessKey` goes to the secret store (needs SECRETS_MASTER_KEYS, else 503 `secrets_unavailable`) and is never answered: its settings say `hasSecret`. Whatever a source serves, agents accept only bytes whose SHA-256 matches the signed manifest.",
  security,
  middleware: admin,
  request: body(createDepotSourceBody),
  responses: { 201: json(depotSource, 'Added'), 409: documentedProblem('The name is taken'), ...problemResponses },
});
const updateSourceRoute = createRoute({
  method: 'patch',
  path: '/depot/sources/{id}',
  operationId: 'updateDepotSource',
  tags,
  summary: "Change a source's name, priority, subnets, settings or whether it is used (admin)",
  security,
  middleware: admin,
  request: { params: sourceId, ...body(updateDepotSourceBody) },
  responses: {
    200: json(depotSource, 'Changed'),
    409: documentedProblem('The name is taken, or the built-in depot would be disabled'),
    ...problemResponses,
  },
});
const deleteSourceRoute = createRoute({
  method: 'delete',
  path: '/depot/sources/{id}',
  operationId: 'deleteDepotSource',
  tags,
  summary: 'Remove a mirror or share (admin); the built-in depot stays (409)',
  security,
  middleware: admin,
  request: { params: sourceId },
  responses: { 204: { description: 'Removed' }, 409: documentedProblem('The built-in depot'), ...problemResponses },
});
const checkSourceRoute = createRoute({
  method: 'post',
  path: '/depot/sources/{id}/check',
  operationId: 'checkDepotSource',
  tags,
  summary: "Check a source's health now: reachable from the server, and free space where the server can see it (operator)",
  security,
  middleware: operator,
  request: { params: sourceId },
  responses: { 200: json(depotSource, 'Checked'), ...problemResponses },
});

const replicateSourceRoute = createRoute({
  method: 'post',
  path: '/depot/sources/{id}/replicate',
  operationId: 'replicateDepotSource',
  tags,
  summary: "Copy the built-in depot's artifacts the source lacks to it; for an HTTP mirror, check which it has (admin)",
  description:
    'An S3 bucket or a share the server has mounted (`mountPath`) gets every artifact of the built-in depot it has no location for (an object already there with the right size is recorded, not copied again); a share is written to `<aa>/<sha256>.…partial` and renamed once its SHA-256 is right. An HTTP mirror is only checked: HEAD `<baseUrl>/<aa>/<sha256>` for every artifact, recorded when it answers 200 with the right Content-Length, its location removed when it no longer does. Runs while the request waits, three artifacts at a time; failures are listed and the rest go on. A share without `mountPath` or the built-in depot itself: 409.',
  security,
  middleware: admin,
  request: { params: sourceId },
  responses: {
    200: json(depotReplicationSummary, 'Done (see `failed`)'),
    409: documentedProblem('The source cannot be written to or checked by the server'),
    ...problemResponses,
  },
});
const replicateArtifactRoute = createRoute({
  method: 'post',
  path: '/depot/artifacts/{id}/replicate',
  operationId: 'replicateDepotArtifact',
  tags,
  summary: 'Copy one artifact to every enabled bucket and mounted share that lacks it, and check it on the HTTP mirrors (admin)',
  description:
    'As `POST /depot/sources/{id}/replicate`, for one artifact and every enabled source but the built-in depot; the answer says what happened at each. A share without `mountPath` is `skipped`.',
  security,
  middleware: admin,
  request: { params: artifactId },
  responses: { 200: json(depotArtifactReplication, 'Done (see each source)'), ...problemResponses },
});

export const depotRoutes = createRouter()
  .openapi(upload, async (c) => {
    const deps = c.var.deps;
    const { artifact, created } = await uploadArtifact(
      deps,
      requestOrigin(c),
      uploadBody(c, deps.config.depotUploadMaxBytes),
      { fileName: c.req.valid('query').fileName, userId: c.var.user.id },
      c.req.raw.signal,
    );
    return c.json(artifact, created ? 201 : 200);
  })
  .openapi(importRoute, async (c) => {
    const { artifact, created } = await importArtifact(c.var.deps, requestOrigin(c), c.req.valid('json'), c.var.user.id, c.req.raw.signal);
    return c.json(artifact, created ? 201 : 200);
  })
  .openapi(registerRoute, async (c) => {
    const { artifact, created } = await registerShareArtifact(c.var.deps, requestOrigin(c), c.req.valid('json'), c.var.user.id);
    return c.json(artifact, created ? 201 : 200);
  })
  .openapi(list, async (c) => c.json(await listArtifacts(c.var.deps, c.req.valid('query')), 200))
  .openapi(get, async (c) => c.json(await getArtifact(c.var.deps, c.req.valid('param').id), 200))
  .openapi(remove, async (c) => {
    await deleteArtifact(c.var.deps, requestOrigin(c), c.req.valid('param').id);
    return c.body(null, 204);
  })
  .openapi(listSigningKeys, async (c) => c.json({ items: await c.var.deps.depotSigning.list() }, 200))
  .openapi(createSigningKey, async (c) => {
    const { keyId: id } = await c.var.deps.depotSigning.createKey('pending');
    await audit(c, { action: 'depot_signing_key.create', targetType: 'depot_signing_key', targetId: id });
    return c.json(await signingKeyInfo(c, id), 201);
  })
  .openapi(activateSigningKey, async (c) => c.json(await changeSigningKey(c, c.req.valid('param').keyId, 'activate'), 200))
  .openapi(retireSigningKey, async (c) => c.json(await changeSigningKey(c, c.req.valid('param').keyId, 'retire'), 200))
  .openapi(listSourcesRoute, async (c) => c.json({ items: await listSources(c.var.deps) }, 200))
  .openapi(createSourceRoute, async (c) => c.json(await createSource(c.var.deps, requestOrigin(c), c.req.valid('json')), 201))
  .openapi(updateSourceRoute, async (c) =>
    c.json(await updateSource(c.var.deps, requestOrigin(c), c.req.valid('param').id, c.req.valid('json')), 200),
  )
  .openapi(deleteSourceRoute, async (c) => {
    await deleteSource(c.var.deps, requestOrigin(c), c.req.valid('param').id);
    return c.body(null, 204);
  })
  .openapi(checkSourceRoute, async (c) => c.json(await checkSource(c.var.deps, c.req.valid('param').id), 200))
  .openapi(replicateArtifactRoute, async (c) => c.json(await replicateArtifact(c.var.deps, requestOrigin(c), c.req.valid('param').id), 200))
  .openapi(replicateSourceRoute, async (c) => c.json(await replicateSource(c.var.deps, requestOrigin(c), c.req.valid('param').id), 200));
