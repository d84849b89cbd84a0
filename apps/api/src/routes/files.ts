/** Stored files for `file.fetch` commands: upload (streamed, size-limited) and look up by SHA-256. */
import { createRoute, z } from '@hono/zod-openapi';
import { sha256Hex } from '@opsconductor/contracts/commands';
import { fileContent, storedFile, storedFileName } from '@opsconductor/contracts/api';
import { createRouter, json } from '../lib/router.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { audit } from '../lib/audit.ts';
import { ApiError, documentedProblem, problemResponses } from '../lib/problem.ts';
import { uploadBody } from '../lib/upload.ts';
import { getStoredFile, uploadFile } from '../services/files.ts';

const security = [{ bearerAuth: [] }];
const tags = ['files'];

const upload = createRoute({
  method: 'post',
  path: '/files',
  operationId: 'uploadFile',
  tags,
  summary: 'Upload a file for file.fetch commands (operator)',
  description:
    'The body is the file itself (`application/octet-stream`), streamed to the server\'s file store and named by its SHA-256, which `action: { kind: "file.fetch", sha256 }` of a job run refers to. The same content uploaded again is the same file (200). Larger than FILE_UPLOAD_MAX_BYTES: 413.',
  security,
  middleware: [authenticate, requireRole('operator')],
  request: {
    query: z.object({
      name: storedFileName
        .optional()
        .describe('A name for people (the file list, run details); devices write the file wherever the command says'),
    }),
    body: { content: { 'application/octet-stream': { schema: fileContent } }, required: true },
  },
  responses: {
    200: json(storedFile, 'Already stored'),
    201: json(storedFile, 'Stored'),
    413: documentedProblem('Larger than FILE_UPLOAD_MAX_BYTES'),
    415: documentedProblem('Not `application/octet-stream`'),
    ...problemResponses,
  },
});
const get = createRoute({
  method: 'get',
  path: '/files/{sha256}',
  operationId: 'getStoredFile',
  tags,
  summary: "A stored file's size and name",
  security,
  middleware: [authenticate],
  request: { params: z.object({ sha256: sha256Hex.describe("The file's SHA-256, lowercase hex") }) },
  responses: { 200: json(storedFile, 'The file'), ...problemResponses },
});

export const fileRoutes = createRouter()
  .openapi(upload, async (c) => {
    const deps = c.var.deps;
    const body = uploadBody(c, deps.config.fileUploadMaxBytes);
    const { file, created } = await uploadFile(
      deps,
      body,
      { name: c.req.valid('query').name ?? null, userId: c.var.user.id },
      c.req.raw.signal,
    );
    if (created)
      await audit(c, { action: 'file.upload', targetType: 'file', targetId: file.sha256, details: { name: file.name, size: file.size } });
    return c.json(file, created ? 201 : 200);
  })
  .openapi(get, async (c) => {
    const file = await getStoredFile(c.var.deps, c.req.valid('param').sha256);
    if (!file) throw new ApiError(404, 'not_found');
    return c.json(file, 200);
  });
