/** Tags and custom fields: definitions, and bulk assignment to devices (which re-evaluates groups). */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { uuid } from '@opsconductor/contracts/api';
import { bulkTagsRequest, createCustomFieldRequest, customFieldDefinition, customFieldList, setCustomFieldValuesRequest, tagList } from '@opsconductor/contracts/inventory-api';
import type { CustomFieldDefinition } from '@opsconductor/db';
import type { AppEnv } from '../context.ts';
import { createRouter } from '../lib/router.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { audit } from '../lib/audit.ts';
import { ApiError, documentedProblem, problemResponses, type FieldError } from '../lib/problem.ts';

const security = [{ bearerAuth: [] }];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const body = <T extends z.ZodType>(schema: T) => ({ body: { content: { 'application/json': { schema } }, required: true } });
const done = z.object({ devices: z.number().int().openapi({ description: 'How many devices it was applied to' }) }).openapi('DevicesUpdated');

const listTags = createRoute({ method: 'get', path: '/tags', operationId: 'listTags', tags: ['devices'], summary: 'Tags in use, with device counts', security, middleware: [authenticate], responses: { 200: json(tagList, 'Tags'), ...problemResponses } });
const bulkTags = createRoute({ method: 'post', path: '/devices/tags', operationId: 'updateDeviceTags', tags: ['devices'], summary: 'Add and remove tags on many devices (operator)', security, middleware: [authenticate, requireRole('operator')], request: body(bulkTagsRequest), responses: { 200: json(done, 'Applied'), ...problemResponses } });
const listFields = createRoute({ method: 'get', path: '/custom-fields', operationId: 'listCustomFields', tags: ['devices'], summary: 'Custom field definitions', security, middleware: [authenticate], responses: { 200: json(customFieldList, 'Fields'), ...problemResponses } });
const createField = createRoute({ method: 'post', path: '/custom-fields', operationId: 'createCustomField', tags: ['devices'], summary: 'Define a custom field (admin)', security, middleware: [authenticate, requireRole('admin')], request: body(createCustomFieldRequest), responses: { 201: json(customFieldDefinition, 'Created'), 409: documentedProblem('Key taken'), ...problemResponses } });
const deleteField = createRoute({ method: 'delete', path: '/custom-fields/{id}', operationId: 'deleteCustomField', tags: ['devices'], summary: 'Delete a custom field and its values (admin)', security, middleware: [authenticate, requireRole('admin')], request: { params: z.object({ id: uuid.describe("The custom field's ID") }) }, responses: { 204: { description: 'Deleted' }, 409: documentedProblem('Rules use this field'), ...problemResponses } });
const setValues = createRoute({ method: 'post', path: '/devices/custom-fields', operationId: 'setDeviceCustomFields', tags: ['devices'], summary: 'Set custom field values on many devices (operator)', security, middleware: [authenticate, requireRole('operator')], request: body(setCustomFieldValuesRequest), responses: { 200: json(done, 'Applied'), ...problemResponses } });

const toFieldDto = (d: CustomFieldDefinition) => ({ id: d.id, key: d.key, label: d.label, type: d.type, enumValues: d.enumValues, createdAt: d.createdAt.toISOString() });

/** Checks a value against its field's type; null clears. */
function fieldValueError(def: CustomFieldDefinition, value: unknown): string | null {
  if (value === null) return null;
  switch (def.type) {
    case 'text': return typeof value === 'string' ? null : 'must be text';
    case 'number': return typeof value === 'number' && Number.isFinite(value) ? null : 'must be a number';
    case 'boolean': return typeof value === 'boolean' ? null : 'must be true or false';
    case 'date': return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(Date.parse(value)) ? null : 'must be an ISO date (YYYY-MM-DD)';
    case 'enum': return typeof value === 'string' && def.enumValues.includes(value) ? null : `must be one of ${def.enumValues.join(', ')}`;
  }
}

async function existingDevices(c: Context<AppEnv>, ids: string[]): Promise<string[]> {
  const unique = [...new Set(ids)];
  const found = await c.var.deps.db.prisma.device.findMany({ where: { id: { in: unique } }, select: { id: true } });
  if (found.length !== unique.length) throw new ApiError(400, 'unknown_devices', `${unique.length - found.length} device(s) do not exist.`);
  return unique;
}

export const deviceAttributeRoutes = createRouter()
  .openapi(listTags, async (c) => {
    const rows = await c.var.deps.db.prisma.deviceTag.groupBy({ by: ['tag'], _count: { _all: true }, orderBy: { tag: 'asc' } });
    return c.json({ items: rows.map((r) => ({ tag: r.tag, deviceCount: r._count._all })) }, 200);
  })
  .openapi(bulkTags, async (c) => {
    const req = c.req.valid('json');
    const ids = await existingDevices(c, req.deviceIds);
    const { pool } = c.var.deps.db;
    if (req.add.length) {
      await pool.query(`INSERT INTO device_tags (device_id, tag) SELECT d, t FROM unnest($1::uuid[]) d CROSS JOIN unnest($2::text[]) t ON CONFLICT DO NOTHING`, [ids, req.add]);
    }
    if (req.remove.length) await pool.query('DELETE FROM device_tags WHERE device_id = ANY($1::uuid[]) AND tag = ANY($2::text[])', [ids, req.remove]);
    await c.var.deps.groups.devicesChanged(ids, 'tags changed');
    await audit(c, { action: 'device.tags', targetType: 'device', details: { devices: ids.length, add: req.add, remove: req.remove } });
    return c.json({ devices: ids.length }, 200);
  })
  .openapi(listFields, async (c) => {
    const defs = await c.var.deps.db.prisma.customFieldDefinition.findMany({ orderBy: { key: 'asc' } });
    return c.json({ items: defs.map(toFieldDto) }, 200);
  })
  .openapi(createField, async (c) => {
    const req = c.req.valid('json');
    const { prisma } = c.var.deps.db;
    if (req.type === 'enum' && req.enumValues.length === 0) throw new ApiError(400, 'validation_failed', undefined, [{ path: 'enumValues', message: 'an enum field needs values' }]);
    if (await prisma.customFieldDefinition.findUnique({ where: { key: req.key } })) throw new ApiError(409, 'conflict', 'A field with this key exists.');
    const d = await prisma.customFieldDefinition.create({ data: { key: req.key, label: req.label, type: req.type, enumValues: req.type === 'enum' ? req.enumValues : [] } });
    await audit(c, { action: 'custom_field.create', targetType: 'custom_field', targetId: d.id, details: { key: d.key, type: d.type } });
    return c.json(toFieldDto(d), 201);
  })
  .openapi(deleteField, async (c) => {
    const { id } = c.req.valid('param');
    const { prisma } = c.var.deps.db;
    const d = await prisma.customFieldDefinition.findUnique({ where: { id } });
    if (!d) throw new ApiError(404, 'not_found');
    const users = (await prisma.deviceGroup.findMany({ where: { kind: 'dynamic' } })).filter((g) => JSON.stringify(g.rule).includes(`"customFields.${d.key}"`));
    if (users.length) throw new ApiError(409, 'conflict', `Rules of ${users.map((g) => g.name).join(', ')} use this field.`);
    await prisma.customFieldDefinition.delete({ where: { id } });
    await audit(c, { action: 'custom_field.delete', targetType: 'custom_field', targetId: id, details: { key: d.key } });
    return c.body(null, 204);
  })
  .openapi(setValues, async (c) => {
    const req = c.req.valid('json');
    const ids = await existingDevices(c, req.deviceIds);
    const { prisma, pool } = c.var.deps.db;
    const defs = new Map((await prisma.customFieldDefinition.findMany({ where: { key: { in: Object.keys(req.values) } } })).map((d) => [d.key, d]));
    const errors: FieldError[] = [];
    for (const [key, value] of Object.entries(req.values)) {
      const def = defs.get(key);
      const problem = def ? fieldValueError(def, value) : 'no such custom field';
      if (problem) errors.push({ path: `values.${key}`, message: problem });
    }
    if (errors.length) throw new ApiError(400, 'validation_failed', undefined, errors);
    for (const [key, value] of Object.entries(req.values)) {
      const def = defs.get(key)!;
      if (value === null) await pool.query('DELETE FROM device_custom_field_values WHERE field_id = $1 AND device_id = ANY($2::uuid[])', [def.id, ids]);
      else {
        await pool.query(
          `INSERT INTO device_custom_field_values (device_id, field_id, value) SELECT d, $2, $3::jsonb FROM unnest($1::uuid[]) d
           ON CONFLICT (device_id, field_id) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
          [ids, def.id, JSON.stringify(value)],
        );
      }
    }
    await c.var.deps.groups.devicesChanged(ids, 'custom fields changed');
    await audit(c, { action: 'device.custom_fields', targetType: 'device', details: { devices: ids.length, values: req.values } });
    return c.json({ devices: ids.length }, 200);
  });
