/** Tags and custom fields: definitions, and bulk assignment to devices (which re-evaluates groups). */
import { createRoute, z } from '@hono/zod-openapi';
import { uuid } from '@opsconductor/contracts/api';
import {
  bulkTagsRequest,
  createCustomFieldRequest,
  customFieldDefinition,
  customFieldList,
  setCustomFieldValuesRequest,
  tagList,
} from '@opsconductor/contracts/inventory-api';
import type { CustomField } from '@opsconductor/groups';
import { body, createRouter, json } from '../lib/router.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { requestOrigin } from '../lib/audit.ts';
import { documentedProblem, problemResponses } from '../lib/problem.ts';

const security = [{ bearerAuth: [] }];
const done = z
  .object({ devices: z.number().int().openapi({ description: 'How many devices it was applied to' }) })
  .openapi('DevicesUpdated');

const listTags = createRoute({
  method: 'get',
  path: '/tags',
  operationId: 'listTags',
  tags: ['devices'],
  summary: 'Tags in use, with device counts',
  security,
  middleware: [authenticate],
  responses: { 200: json(tagList, 'Tags'), ...problemResponses },
});
const bulkTags = createRoute({
  method: 'post',
  path: '/devices/tags',
  operationId: 'updateDeviceTags',
  tags: ['devices'],
  summary: 'Add and remove tags on many devices (operator)',
  security,
  middleware: [authenticate, requireRole('operator')],
  request: body(bulkTagsRequest),
  responses: { 200: json(done, 'Applied'), ...problemResponses },
});
const listFields = createRoute({
  method: 'get',
  path: '/custom-fields',
  operationId: 'listCustomFields',
  tags: ['devices'],
  summary: 'Custom field definitions',
  security,
  middleware: [authenticate],
  responses: { 200: json(customFieldList, 'Fields'), ...problemResponses },
});
const createField = createRoute({
  method: 'post',
  path: '/custom-fields',
  operationId: 'createCustomField',
  tags: ['devices'],
  summary: 'Define a custom field (admin)',
  security,
  middleware: [authenticate, requireRole('admin')],
  request: body(createCustomFieldRequest),
  responses: { 201: json(customFieldDefinition, 'Created'), 409: documentedProblem('Key taken'), ...problemResponses },
});
const deleteField = createRoute({
  method: 'delete',
  path: '/custom-fields/{id}',
  operationId: 'deleteCustomField',
  tags: ['devices'],
  summary: 'Delete a custom field and its values (admin)',
  security,
  middleware: [authenticate, requireRole('admin')],
  request: { params: z.object({ id: uuid.describe("The custom field's ID") }) },
  responses: { 204: { description: 'Deleted' }, 409: documentedProblem('Rules use this field'), ...problemResponses },
});
const setValues = createRoute({
  method: 'post',
  path: '/devices/custom-fields',
  operationId: 'setDeviceCustomFields',
  tags: ['devices'],
  summary: 'Set custom field values on many devices (operator)',
  security,
  middleware: [authenticate, requireRole('operator')],
  request: body(setCustomFieldValuesRequest),
  responses: { 200: json(done, 'Applied'), ...problemResponses },
});

const toFieldDto = (d: CustomField) => ({
  id: d.id,
  key: d.key,
  label: d.label,
  type: d.type,
  enumValues: d.enumValues,
  createdAt: d.createdAt.toISOString(),
});

export const deviceAttributeRoutes = createRouter()
  .openapi(listTags, async (c) => {
    const rows = await c.var.deps.db.prisma.deviceTag.groupBy({ by: ['tag'], _count: { _all: true }, orderBy: { tag: 'asc' } });
    return c.json({ items: rows.map((r) => ({ tag: r.tag, deviceCount: r._count._all })) }, 200);
  })
  .openapi(bulkTags, async (c) =>
    c.json({ devices: await c.var.deps.services.attributes.changeTags(requestOrigin(c), c.req.valid('json')) }, 200),
  )
  .openapi(listFields, async (c) => {
    const defs = await c.var.deps.db.prisma.customFieldDefinition.findMany({ orderBy: { key: 'asc' } });
    return c.json({ items: defs.map(toFieldDto) }, 200);
  })
  .openapi(createField, async (c) =>
    c.json(toFieldDto(await c.var.deps.services.attributes.createField(requestOrigin(c), c.req.valid('json'))), 201),
  )
  .openapi(deleteField, async (c) => {
    await c.var.deps.services.attributes.deleteField(requestOrigin(c), c.req.valid('param').id);
    return c.body(null, 204);
  })
  .openapi(setValues, async (c) =>
    c.json({ devices: await c.var.deps.services.attributes.setValues(requestOrigin(c), c.req.valid('json')) }, 200),
  );
