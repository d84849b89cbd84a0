/** The software depot's artifacts (ADR 23): streamed upload, list, look up and delete (services/depot.ts). */
import { createRoute, z } from '@hono/zod-openapi';
import { artifactFileName, depotArtifact, depotArtifactList, depotArtifactListQuery, fileContent, uuid } from '@opsconductor/contracts/api';
import { createRouter, json } from '../lib/router.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { requestOrigin } from '../lib/audit.ts';
import { documentedProblem, problemResponses } from '../lib/problem.ts';
import { uploadBody } from '../lib/upload.ts';
import { deleteArtifact, getArtifact, listArtifacts, uploadArtifact } from '../services/depot.ts';

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
  .openapi(list, async (c) => c.json(await listArtifacts(c.var.deps, c.req.valid('query')), 200))
  .openapi(get, async (c) => c.json(await getArtifact(c.var.deps, c.req.valid('param').id), 200))
  .openapi(remove, async (c) => {
    await deleteArtifact(c.var.deps, requestOrigin(c), c.req.valid('param').id);
    return c.body(null, 204);
  });
