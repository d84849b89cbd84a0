/**
 * Groups: create, change and delete static and dynamic groups and static memberships. Every mutation is
 * one unit of work: the change, the memberships it implies, its audit row and its domain events commit
 * together. Called by the API's routes and usable from activities alike (no HTTP in here).
 */
import type { Database } from '@opsconductor/db';
import type { Rule } from '@opsconductor/contracts/rules';
import { orderGroups, referencedGroups, validateRule } from '@opsconductor/rules';
import {
  NameTakenError,
  ServiceError,
  conflict,
  invalid,
  isUniqueViolation,
  notFound,
  withUnitOfWork,
  type EventTransaction,
  type Origin,
  type UnitOfWork,
} from '@opsconductor/unit-of-work';
import type { Sql } from '@opsconductor/domain-events';
import type { GroupMembership } from './membership.ts';
import { EvaluationBudgetExceeded } from './time-slice.ts';

export interface GroupServiceDeps {
  db: Database;
  membership: GroupMembership;
}

export type CreateGroupInput =
  | { kind: 'static'; name: string; description: string; deviceIds: string[] }
  | { kind: 'dynamic'; name: string; description: string; rule?: unknown };
export interface UpdateGroupInput {
  name?: string;
  description?: string;
  rule?: unknown;
}

interface GroupRow {
  id: string;
  name: string;
  kind: 'static' | 'dynamic';
  rule: Rule | null;
  built_in_key: string | null;
}

const nameTaken = () => new NameTakenError('name', 'A group with this name exists.');

/** A concurrent request that won the race to the unique index: the same answer as a name that existed. */
function renameConflict(err: unknown): never {
  if (isUniqueViolation(err, 'device_groups_name_key')) throw nameTaken();
  throw err;
}

async function assertNameFree(sql: Sql, name: string): Promise<void> {
  if ((await sql.query('SELECT 1 FROM device_groups WHERE name = $1', [name])).rowCount) throw nameTaken();
}

export class GroupService {
  constructor(private readonly deps: GroupServiceDeps) {}

  /** The devices a rule matches now, without saving anything; 422-style error past the CPU budget. */
  async preview(input: unknown, budgetMs: number): Promise<string[]> {
    const rule = await this.checkedRule(this.deps.db.pool, input);
    return this.deps.membership.matching(rule, { budgetMs }).catch((err: unknown) => {
      if (err instanceof EvaluationBudgetExceeded) {
        throw new ServiceError(
          'too_expensive',
          'rule_too_expensive',
          `Evaluating this rule over all devices took more than ${budgetMs / 1000} s; narrow it down.`,
        );
      }
      throw err;
    });
  }

  async create(origin: Origin, input: CreateGroupInput): Promise<string> {
    return withUnitOfWork(this.deps.db, origin, async (uow) => {
      await assertNameFree(uow.sql, input.name);
      const rule = input.kind === 'dynamic' ? await this.checkedRule(uow.sql, input.rule, undefined, true) : null;
      const inserted = await uow.sql
        .query<{ id: string }>(
          `INSERT INTO device_groups (id, name, description, kind, rule, updated_at) VALUES (gen_random_uuid(), $1, $2, $3, $4::jsonb, now()) RETURNING id`,
          [input.name, input.description, input.kind, rule === null ? null : JSON.stringify(rule)],
        )
        .catch(renameConflict);
      const id = inserted.rows[0]!.id;
      if (input.kind === 'static' && input.deviceIds.length) await this.changeStaticMembers(uow, id, input.deviceIds, []);
      if (input.kind === 'dynamic') await this.deps.membership.groupChanged(id, 'group created', uow);
      await uow.audit({ action: 'group.create', targetType: 'group', targetId: id, details: { name: input.name, kind: input.kind } });
      return id;
    });
  }

  async update(origin: Origin, id: string, input: UpdateGroupInput): Promise<void> {
    if (input.name === undefined && input.description === undefined && input.rule === undefined) {
      throw invalid('validation_failed', 'Give at least one of name, description, rule.', [{ path: '', message: 'Nothing to change' }]);
    }
    await withUnitOfWork(this.deps.db, origin, async (uow) => {
      const g = await lockGroup(uow.sql, id);
      if (g.built_in_key && (input.rule || input.name)) throw conflict('built_in_group', 'Built-in groups keep their name and rule.');
      if (input.rule && g.kind !== 'dynamic') throw conflict('wrong_group_kind', 'Only dynamic groups have a rule.');
      if (input.name && input.name !== g.name) await assertNameFree(uow.sql, input.name);
      const rule = input.rule ? await this.checkedRule(uow.sql, input.rule, id, true) : undefined;
      if (rule) await assertNoCycle(uow.sql, id, rule);
      await uow.sql
        .query(
          `UPDATE device_groups SET name = COALESCE($2, name), description = COALESCE($3, description), rule = COALESCE($4::jsonb, rule), updated_at = now() WHERE id = $1`,
          [id, input.name ?? null, input.description ?? null, rule ? JSON.stringify(rule) : null],
        )
        .catch(renameConflict);
      if (rule) await this.deps.membership.groupChanged(id, 'rule changed', uow);
      await uow.audit({ action: 'group.update', targetType: 'group', targetId: id, details: { ...input, rule } });
    });
  }

  async delete(origin: Origin, id: string): Promise<void> {
    await withUnitOfWork(this.deps.db, origin, async (uow) => {
      const g = await lockGroup(uow.sql, id);
      if (g.built_in_key) throw conflict('built_in_group');
      // Rules being saved lock the groups they reference (checkedRule), so none can slip in meanwhile.
      const { rows } = await uow.sql.query<{ name: string; rule: Rule }>(
        `SELECT name, rule FROM device_groups WHERE kind = 'dynamic' AND rule IS NOT NULL`,
      );
      const dependents = rows
        .filter((x) => referencedGroups(x.rule).includes(id))
        .map((x) => x.name)
        .sort();
      if (dependents.length) throw conflict('conflict', `Rules of ${dependents.join(', ')} reference this group.`);
      // Its members leave it first, so consumers of group.membership_changed hear of it.
      const members = await uow.sql.query<{ device_id: string }>('SELECT device_id FROM device_group_members WHERE group_id = $1', [id]);
      await this.deps.membership.apply(
        members.rows.map((m) => ({ groupId: id, deviceId: m.device_id, change: 'removed' as const })),
        'group deleted',
        uow,
      );
      await uow.sql.query('DELETE FROM device_groups WHERE id = $1', [id]);
      await uow.audit({ action: 'group.delete', targetType: 'group', targetId: id, details: { name: g.name } });
    });
  }

  async changeMembers(origin: Origin, id: string, add: string[], remove: string[]): Promise<void> {
    await withUnitOfWork(this.deps.db, origin, async (uow) => {
      const g = await lockGroup(uow.sql, id, 'SHARE');
      if (g.kind !== 'static') throw conflict('wrong_group_kind', 'Members of a dynamic group follow its rule.');
      await this.changeStaticMembers(uow, id, add, remove);
      await uow.audit({
        action: 'group.members',
        targetType: 'group',
        targetId: id,
        details: { added: add.length, removed: remove.length },
      });
    });
  }

  /** Static membership changes are events too; groups whose rules reference this one follow. */
  private async changeStaticMembers(uow: UnitOfWork, groupId: string, add: string[], remove: string[]) {
    // FOR SHARE: a device being retired (which takes its row FOR UPDATE) is either retired before we look,
    // or waits for us and then removes the membership we add.
    const found = await uow.sql.query<{ id: string; retired_at: Date | null }>(
      'SELECT id, retired_at FROM devices WHERE id = ANY($1::uuid[]) FOR SHARE',
      [add],
    );
    const known = new Set(found.rows.map((d) => d.id));
    const unknown = add.filter((d) => !known.has(d));
    if (unknown.length) throw invalid('unknown_devices', `${unknown.length} device(s) do not exist.`);
    const retired = found.rows.filter((d) => d.retired_at).length;
    if (retired) throw invalid('device_retired', `${retired} device(s) are retired and belong to no group.`);
    const current = new Set(
      (
        await uow.sql.query<{ device_id: string }>(
          'SELECT device_id FROM device_group_members WHERE group_id = $1 AND device_id = ANY($2::uuid[])',
          [groupId, [...add, ...remove]],
        )
      ).rows.map((r) => r.device_id),
    );
    const changes = [
      ...[...new Set(add)].filter((d) => !current.has(d)).map((deviceId) => ({ groupId, deviceId, change: 'added' as const })),
      ...[...new Set(remove)].filter((d) => current.has(d)).map((deviceId) => ({ groupId, deviceId, change: 'removed' as const })),
    ];
    const applied = await this.deps.membership.apply(changes, `changed by ${uow.origin.actor.name ?? uow.origin.actor.type}`, uow);
    if (applied.length) await this.deps.membership.groupChanged(groupId, 'a referenced group changed', uow);
  }

  /**
   * Validates a rule against the field catalog, the custom fields and the existing groups. When saving
   * (`lock`), the groups it references are locked FOR SHARE until the commit, so none is deleted meanwhile.
   */
  private async checkedRule(sql: Sql, input: unknown, selfId?: string, lock = false): Promise<Rule> {
    const defs = await sql.query<{ key: string; type: 'text' | 'number' | 'boolean' | 'date' | 'enum'; enum_values: string[] }>(
      'SELECT key, type::text, enum_values FROM custom_field_definitions',
    );
    const groups = await sql.query<{ id: string }>('SELECT id FROM device_groups');
    const customFields = new Map(defs.rows.map((d) => [d.key, { type: d.type, enumValues: d.enum_values }]));
    const groupIds = new Set(groups.rows.map((g) => g.id));
    let result = validateRule(input, { customFields, groupIds, ...(selfId ? { groupId: selfId } : {}) });
    if (result.ok && lock) {
      const referenced = referencedGroups(result.rule);
      if (referenced.length) {
        const held = await sql.query<{ id: string }>('SELECT id FROM device_groups WHERE id = ANY($1::uuid[]) FOR SHARE', [referenced]);
        if (held.rows.length !== new Set(referenced).size) {
          result = validateRule(input, {
            customFields,
            groupIds: new Set(held.rows.map((g) => g.id)),
            ...(selfId ? { groupId: selfId } : {}),
          });
        }
      }
    }
    if (!result.ok) throw invalid('rule_invalid', undefined, result.errors);
    return result.rule;
  }
}

async function lockGroup(sql: EventTransaction['sql'], id: string, mode: 'UPDATE' | 'SHARE' = 'UPDATE'): Promise<GroupRow> {
  const { rows } = await sql.query<GroupRow>(
    `SELECT id, name, kind::text AS kind, rule, built_in_key FROM device_groups WHERE id = $1 FOR ${mode}`,
    [id],
  );
  if (!rows[0]) throw notFound();
  return rows[0];
}

/** Refuses a rule that would make group rules reference each other in a circle. */
async function assertNoCycle(sql: Sql, id: string, rule: Rule) {
  const { rows } = await sql.query<{ id: string; name: string; kind: string; rule: Rule | null }>(
    'SELECT id, name, kind::text AS kind, rule FROM device_groups',
  );
  const ordered = orderGroups(rows.map((g) => ({ id: g.id, rule: g.id === id ? rule : g.kind === 'dynamic' ? g.rule : null })));
  if ('cycle' in ordered) {
    const names = ordered.cycle.map((x) => rows.find((g) => g.id === x)?.name ?? x);
    throw invalid('rule_invalid', `Group rules would form a cycle: ${names.join(' → ')}`);
  }
}
