/**
 * Tags and custom fields: field definitions, and bulk assignment to devices. Each assignment re-evaluates
 * the devices' dynamic groups in the same transaction, with its audit row and membership events.
 */
import type { Database } from '@opsconductor/db';
import type { Rule } from '@opsconductor/contracts/rules';
import {
  NameTakenError,
  conflict,
  invalid,
  isUniqueViolation,
  notFound,
  withUnitOfWork,
  type FieldError,
  type Origin,
  type UnitOfWork,
} from '@opsconductor/unit-of-work';
import type { GroupMembership } from './membership.ts';

export type CustomFieldType = 'text' | 'number' | 'boolean' | 'date' | 'enum';
export interface CustomField {
  id: string;
  key: string;
  label: string;
  type: CustomFieldType;
  enumValues: string[];
  createdAt: Date;
}
export type CustomFieldValue = string | number | boolean | null;

export interface AttributeServiceDeps {
  db: Database;
  membership: GroupMembership;
}

/** Checks a value against its field's type; null clears. */
export function fieldValueError(def: Pick<CustomField, 'type' | 'enumValues'>, value: unknown): string | null {
  if (value === null) return null;
  switch (def.type) {
    case 'text':
      return typeof value === 'string' ? null : 'must be text';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? null : 'must be a number';
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'date':
      return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(Date.parse(value))
        ? null
        : 'must be an ISO date (YYYY-MM-DD)';
    case 'enum':
      return typeof value === 'string' && def.enumValues.includes(value) ? null : `must be one of ${def.enumValues.join(', ')}`;
  }
}

const FIELD_COLUMNS = 'id, key, label, type::text AS type, enum_values AS "enumValues", created_at AS "createdAt"';

export class AttributeService {
  constructor(private readonly deps: AttributeServiceDeps) {}

  /** Adds and removes tags on devices (idempotently); returns how many devices. */
  async changeTags(origin: Origin, input: { deviceIds: string[]; add: string[]; remove: string[] }): Promise<number> {
    return withUnitOfWork(this.deps.db, origin, async (uow) => {
      const ids = await lockDevices(uow, input.deviceIds);
      // Sorted, so concurrent requests lock rows in the same order (no deadlocks).
      const add = [...new Set(input.add)].sort();
      if (add.length) {
        await uow.sql.query(
          `INSERT INTO device_tags (device_id, tag) SELECT d, t FROM unnest($1::uuid[]) d CROSS JOIN unnest($2::text[]) t ORDER BY 1, 2 ON CONFLICT DO NOTHING`,
          [ids, add],
        );
      }
      if (input.remove.length)
        await uow.sql.query('DELETE FROM device_tags WHERE device_id = ANY($1::uuid[]) AND tag = ANY($2::text[])', [ids, input.remove]);
      await this.deps.membership.devicesChanged(ids, 'tags changed', uow);
      await uow.audit({
        action: 'device.tags',
        targetType: 'device',
        details: { devices: ids.length, add: input.add, remove: input.remove },
      });
      return ids.length;
    });
  }

  async createField(
    origin: Origin,
    input: { key: string; label: string; type: CustomFieldType; enumValues: string[] },
  ): Promise<CustomField> {
    if (input.type === 'enum' && input.enumValues.length === 0)
      throw invalid('validation_failed', undefined, [{ path: 'enumValues', message: 'an enum field needs values' }]);
    const taken = () => new NameTakenError('key', 'A field with this key exists.');
    return withUnitOfWork(this.deps.db, origin, async (uow) => {
      if ((await uow.sql.query('SELECT 1 FROM custom_field_definitions WHERE key = $1', [input.key])).rowCount) throw taken();
      const { rows } = await uow.sql
        .query<CustomField>(
          `INSERT INTO custom_field_definitions (id, key, label, type, enum_values) VALUES (gen_random_uuid(), $1, $2, $3, $4) RETURNING ${FIELD_COLUMNS}`,
          [input.key, input.label, input.type, input.type === 'enum' ? input.enumValues : []],
        )
        .catch((err: unknown) => {
          if (isUniqueViolation(err, 'custom_field_definitions_key_key')) throw taken();
          throw err;
        });
      const field = rows[0]!;
      await uow.audit({
        action: 'custom_field.create',
        targetType: 'custom_field',
        targetId: field.id,
        details: { key: field.key, type: field.type },
      });
      return field;
    });
  }

  async deleteField(origin: Origin, id: string): Promise<void> {
    await withUnitOfWork(this.deps.db, origin, async (uow) => {
      const { rows } = await uow.sql.query<{ key: string }>('SELECT key FROM custom_field_definitions WHERE id = $1 FOR UPDATE', [id]);
      const field = rows[0];
      if (!field) throw notFound();
      const groups = await uow.sql.query<{ name: string; rule: Rule }>(
        `SELECT name, rule FROM device_groups WHERE kind = 'dynamic' ORDER BY name`,
      );
      const users = groups.rows.filter((g) => JSON.stringify(g.rule).includes(`"customFields.${field.key}"`));
      if (users.length) throw conflict('conflict', `Rules of ${users.map((g) => g.name).join(', ')} use this field.`);
      await uow.sql.query('DELETE FROM custom_field_definitions WHERE id = $1', [id]);
      await uow.audit({ action: 'custom_field.delete', targetType: 'custom_field', targetId: id, details: { key: field.key } });
    });
  }

  /** Sets (or, with null, clears) values by field key on devices; every value is checked against its field. */
  async setValues(origin: Origin, input: { deviceIds: string[]; values: Record<string, CustomFieldValue> }): Promise<number> {
    return withUnitOfWork(this.deps.db, origin, async (uow) => {
      const ids = await lockDevices(uow, input.deviceIds);
      const keys = Object.keys(input.values);
      // FOR SHARE: a field cannot be deleted while values for it are being written.
      const defs = new Map(
        (
          await uow.sql.query<CustomField>(`SELECT ${FIELD_COLUMNS} FROM custom_field_definitions WHERE key = ANY($1::text[]) FOR SHARE`, [
            keys,
          ])
        ).rows.map((d) => [d.key, d]),
      );
      const errors: FieldError[] = [];
      for (const [key, value] of Object.entries(input.values)) {
        const def = defs.get(key);
        const problem = def ? fieldValueError(def, value) : 'no such custom field';
        if (problem) errors.push({ path: `values.${key}`, message: problem });
      }
      if (errors.length) throw invalid('validation_failed', undefined, errors);
      for (const [key, value] of Object.entries(input.values).sort(([a], [b]) => (a < b ? -1 : 1))) {
        const def = defs.get(key)!;
        if (value === null)
          await uow.sql.query('DELETE FROM device_custom_field_values WHERE field_id = $1 AND device_id = ANY($2::uuid[])', [def.id, ids]);
        else {
          await uow.sql.query(
            `INSERT INTO device_custom_field_values (device_id, field_id, value) SELECT d, $2, $3::jsonb FROM unnest($1::uuid[]) d ORDER BY 1
             ON CONFLICT (device_id, field_id) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
            [ids, def.id, JSON.stringify(value)],
          );
        }
      }
      await this.deps.membership.devicesChanged(ids, 'custom fields changed', uow);
      await uow.audit({ action: 'device.custom_fields', targetType: 'device', details: { devices: ids.length, values: input.values } });
      return ids.length;
    });
  }
}

/** The distinct device IDs, sorted; all must exist. Locked FOR KEY SHARE so none is deleted meanwhile. */
async function lockDevices(uow: UnitOfWork, deviceIds: string[]): Promise<string[]> {
  const unique = [...new Set(deviceIds)].sort();
  const found = await uow.sql.query('SELECT id FROM devices WHERE id = ANY($1::uuid[]) ORDER BY id FOR KEY SHARE', [unique]);
  if (found.rowCount !== unique.length)
    throw invalid('unknown_devices', `${unique.length - (found.rowCount ?? 0)} device(s) do not exist.`);
  return unique;
}
