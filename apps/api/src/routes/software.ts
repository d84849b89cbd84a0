/** The software catalog (ADR 23): packages and their versions (services/software-packages.ts). */
import { createRoute, z } from '@hono/zod-openapi';
import {
  createPackageVersionBody,
  createSoftwarePackageBody,
  packageVersion,
  packageVersionList,
  softwarePackage,
  softwarePackageList,
  softwarePackageListQuery,
  updateSoftwarePackageBody,
  uuid,
  packageInstallationList,
  packageInstallationListQuery,
  fileContent,
} from '@opsconductor/contracts/api';
import { body, createRouter, json } from '../lib/router.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { requestOrigin } from '../lib/audit.ts';
import { documentedProblem, problemResponses } from '../lib/problem.ts';
import {
  createPackage,
  createVersion,
  deletePackage,
  deleteVersion,
  getPackage,
  getVersion,
  listPackages,
  listVersions,
  updatePackage,
  setIcon,
  getIcon,
  deleteIcon,
} from '../services/software-packages.ts';
import { listInstallations } from '../services/package-installations.ts';

const security = [{ bearerAuth: [] }];
const tags = ['software'];
const operator = [authenticate, requireRole('operator')];
const packageId = z.object({ id: uuid.describe("The package's ID") });
const versionId = z.object({ id: uuid.describe("The version's ID") });

const list = createRoute({
  method: 'get',
  path: '/software/packages',
  operationId: 'listSoftwarePackages',
  tags,
  summary: 'The package catalog, by name; search by name or vendor, filter by platform and category',
  security,
  middleware: [authenticate],
  request: { query: softwarePackageListQuery },
  responses: { 200: json(softwarePackageList, 'A page of packages'), ...problemResponses },
});
const create = createRoute({
  method: 'post',
  path: '/software/packages',
  operationId: 'createSoftwarePackage',
  tags,
  summary: 'Add a package to the catalog (operator)',
  security,
  middleware: operator,
  request: body(createSoftwarePackageBody),
  responses: { 201: json(softwarePackage, 'Created'), 409: documentedProblem('The name is taken'), ...problemResponses },
});
const get = createRoute({
  method: 'get',
  path: '/software/packages/{id}',
  operationId: 'getSoftwarePackage',
  tags,
  summary: 'A package',
  security,
  middleware: [authenticate],
  request: { params: packageId },
  responses: { 200: json(softwarePackage, 'The package'), ...problemResponses },
});
const update = createRoute({
  method: 'patch',
  path: '/software/packages/{id}',
  operationId: 'updateSoftwarePackage',
  tags,
  summary: "Change a package's name, vendor, description or category (operator)",
  security,
  middleware: operator,
  request: { params: packageId, ...body(updateSoftwarePackageBody) },
  responses: { 200: json(softwarePackage, 'Changed'), 409: documentedProblem('The name is taken'), ...problemResponses },
});
const remove = createRoute({
  method: 'delete',
  path: '/software/packages/{id}',
  operationId: 'deleteSoftwarePackage',
  tags,
  summary: 'Delete a package and its versions (operator); their artifacts stay in the depot',
  security,
  middleware: operator,
  request: { params: packageId },
  responses: { 204: { description: 'Deleted' }, 409: documentedProblem("Other packages' versions depend on it"), ...problemResponses },
});
const iconContent = { 'image/png': { schema: fileContent }, 'image/jpeg': { schema: fileContent }, 'image/webp': { schema: fileContent } };
const putIcon = createRoute({
  method: 'put',
  path: '/software/packages/{id}/icon',
  operationId: 'setSoftwarePackageIcon',
  tags,
  summary: "Set the package's icon (operator): a PNG, JPEG or WebP image of at most 256 KiB",
  description: 'The body is the image itself. Its type is read from its bytes (an SVG, which may carry script, is refused: 415).',
  security,
  middleware: operator,
  request: { params: packageId, body: { content: iconContent, required: true } },
  responses: {
    200: json(softwarePackage, 'Set'),
    413: documentedProblem('Larger than 256 KiB'),
    415: documentedProblem('Not a PNG, JPEG or WebP image'),
    ...problemResponses,
  },
});
const getIconRoute = createRoute({
  method: 'get',
  path: '/software/packages/{id}/icon',
  operationId: 'getSoftwarePackageIcon',
  tags,
  summary: "The package's icon",
  security,
  middleware: [authenticate],
  request: { params: packageId },
  responses: { 200: { description: 'The image', content: iconContent }, ...problemResponses },
});
const deleteIconRoute = createRoute({
  method: 'delete',
  path: '/software/packages/{id}/icon',
  operationId: 'deleteSoftwarePackageIcon',
  tags,
  summary: "Remove the package's icon (operator)",
  security,
  middleware: operator,
  request: { params: packageId },
  responses: { 204: { description: 'Removed' }, ...problemResponses },
});
const versions = createRoute({
  method: 'get',
  path: '/software/packages/{id}/versions',
  operationId: 'listPackageVersions',
  tags,
  summary: "A package's versions, highest first",
  security,
  middleware: [authenticate],
  request: { params: packageId },
  responses: { 200: json(packageVersionList, 'The versions'), ...problemResponses },
});
const installations = createRoute({
  method: 'get',
  path: '/software/packages/{id}/installations',
  operationId: 'listPackageInstallations',
  tags,
  summary: 'Where the package is installed: per device and version, what its last install or uninstall reported',
  security,
  middleware: [authenticate],
  request: { params: packageId, query: packageInstallationListQuery },
  responses: { 200: json(packageInstallationList, 'A page of devices, by hostname'), ...problemResponses },
});
const createVersionRoute = createRoute({
  method: 'post',
  path: '/software/packages/{id}/versions',
  operationId: 'createPackageVersion',
  tags,
  summary: 'Add a version (operator): artifacts, commands (defaulted per installer type), detection, requirements, dependencies',
  description:
    "Install and uninstall command lines default to the installer type's unattended form (`msiexec /i {installer} /qn /norestart /l*v {log}`, `msiexec /x {productCode} /qn /norestart`, `apt-get install -y {installer}`, …) with success exit codes 0 and, for MSI, reboot codes 3010 and 1641. Placeholders: `{installer}`, `{log}`, `{productCode}`, `{packageName}`; anything else in braces that looks like a placeholder is refused (400), as is a placeholder whose value the version lacks.",
  security,
  middleware: operator,
  request: { params: packageId, ...body(createPackageVersionBody) },
  responses: { 201: json(packageVersion, 'Created'), 409: documentedProblem('The package has this version'), ...problemResponses },
});
const getVersionRoute = createRoute({
  method: 'get',
  path: '/software/versions/{id}',
  operationId: 'getPackageVersion',
  tags,
  summary: 'A package version',
  security,
  middleware: [authenticate],
  request: { params: versionId },
  responses: { 200: json(packageVersion, 'The version'), ...problemResponses },
});
const deleteVersionRoute = createRoute({
  method: 'delete',
  path: '/software/versions/{id}',
  operationId: 'deletePackageVersion',
  tags,
  summary: 'Delete a package version (operator); its artifacts stay in the depot',
  security,
  middleware: operator,
  request: { params: versionId },
  responses: { 204: { description: 'Deleted' }, ...problemResponses },
});

export const softwareRoutes = createRouter()
  .openapi(list, async (c) => c.json(await listPackages(c.var.deps, c.req.valid('query')), 200))
  .openapi(create, async (c) => c.json(await createPackage(c.var.deps, requestOrigin(c), c.var.user.id, c.req.valid('json')), 201))
  .openapi(get, async (c) => c.json(await getPackage(c.var.deps, c.req.valid('param').id), 200))
  .openapi(update, async (c) =>
    c.json(await updatePackage(c.var.deps, requestOrigin(c), c.req.valid('param').id, c.req.valid('json')), 200),
  )
  .openapi(remove, async (c) => {
    await deletePackage(c.var.deps, requestOrigin(c), c.req.valid('param').id);
    return c.body(null, 204);
  })
  .openapi(putIcon, async (c) => {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    return c.json(await setIcon(c.var.deps, requestOrigin(c), c.req.valid('param').id, bytes), 200);
  })
  .openapi(getIconRoute, async (c) => {
    const icon = await getIcon(c.var.deps, c.req.valid('param').id);
    return c.body(new Uint8Array(icon.bytes), 200, {
      'content-type': icon.type,
      'cache-control': 'private, max-age=300',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'",
    });
  })
  .openapi(deleteIconRoute, async (c) => {
    await deleteIcon(c.var.deps, requestOrigin(c), c.req.valid('param').id);
    return c.body(null, 204);
  })
  .openapi(versions, async (c) => c.json({ items: await listVersions(c.var.deps, c.req.valid('param').id) }, 200))
  .openapi(installations, async (c) => c.json(await listInstallations(c.var.deps, c.req.valid('param').id, c.req.valid('query')), 200))
  .openapi(createVersionRoute, async (c) =>
    c.json(await createVersion(c.var.deps, requestOrigin(c), c.var.user.id, c.req.valid('param').id, c.req.valid('json')), 201),
  )
  .openapi(getVersionRoute, async (c) => c.json(await getVersion(c.var.deps, c.req.valid('param').id), 200))
  .openapi(deleteVersionRoute, async (c) => {
    await deleteVersion(c.var.deps, requestOrigin(c), c.req.valid('param').id);
    return c.body(null, 204);
  });
