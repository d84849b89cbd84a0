/**
 * Group membership: evaluates dynamic-group rules and records every membership change as an event.
 * - One device changed (inventory, tags, custom fields, static membership): every dynamic group is
 *   evaluated for that device only, in dependency order (incremental).
 * - A rule changed, or a group other rules reference changed: that group (and its dependents) is
 *   evaluated over all devices (full).
 * - Rules that read time (last seen, uptime…) are refreshed on a schedule (refreshTimeBasedGroups).
 * Rules are compiled once per version of the dynamic-group set.
 * Given a transaction (`tx`), every method reads and writes in it: a caller's change (an inventory report,
 * a new rule, a tag) and the memberships it implies commit together. Without one, changes are applied in
 * a transaction of their own. Each applied change is a `group_membership_events` row and part of a
 * `group.membership_changed` domain event.
 */
import type { Logger } from 'pino';
import type { Database } from '@opsconductor/db';
import { domainEvent, type NewDomainEvent, type Sql } from '@opsconductor/domain-events';
import { inTransaction, likeLiteral, readAll, systemActor, type Actor, type EventTransaction } from '@opsconductor/unit-of-work';
import type { InventorySections } from '@opsconductor/contracts/inventory';
import type { Rule } from '@opsconductor/contracts/rules';
import { TimeSlicer } from './time-slice.ts';
import {
  compileRule,
  DEFAULT_PRESENCE,
  factsFromDevice,
  type PresenceThresholds,
  inventoryFacts,
  orderGroups,
  referencedGroups,
  ruleNeeds,
  softwareNameFilter,
  usesTime,
  type DeviceFacts,
  type InventoryFacts,
  type RuleNeeds,
} from '@opsconductor/rules';

export interface CompiledGroup {
  id: string;
  name: string;
  rule: Rule;
  test: (f: DeviceFacts) => boolean;
  usesTime: boolean;
  references: string[];
}
interface DeviceRow {
  id: string;
  hostname: string;
  os_family: string;
  os_name: string;
  os_version: string;
  architecture: string;
  ip_addresses: string[];
  agent_version: string;
  last_seen_at: Date | null;
  agent_stopped_at: Date | null;
  enrolled_at: Date;
  rule_facts: InventoryFacts | null;
}
export interface MembershipChange {
  groupId: string;
  deviceId: string;
  change: 'added' | 'removed';
}

export interface GroupMembershipOptions {
  db: Database;
  logger: Logger;
  /** The same window the API's device status uses (DEVICE_ONLINE_WINDOW_SECONDS); default 90 s. */
  presence?: PresenceThresholds;
  now?: () => Date;
  /** Who changes memberships when no caller's transaction is given (default: system "group membership"). */
  actor?: Actor;
}

/** Device IDs per group.membership_changed event: a full evaluation of a large group becomes several events. */
const DEVICES_PER_EVENT = 1000;

export class GroupMembership {
  private cache: { version: string; groups: CompiledGroup[]; needs: RuleNeeds } | undefined;
  private readonly presence: PresenceThresholds;
  private readonly now: () => Date;
  private readonly actor: Actor;

  constructor(private readonly o: GroupMembershipOptions) {
    this.presence = o.presence ?? DEFAULT_PRESENCE;
    this.now = o.now ?? (() => new Date());
    this.actor = o.actor ?? systemActor('group membership');
  }

  private sql(tx?: EventTransaction): Sql {
    return tx?.sql ?? this.o.db.pool;
  }

  /** The inventory-derived facts stored on the device row at ingest (Device.ruleFacts). */
  readonly ruleFacts = (sections: Partial<InventorySections>, collectedAt = this.now()): InventoryFacts =>
    inventoryFacts(sections, collectedAt);

  /**
   * Dynamic groups in dependency order, compiled; reloaded when any group changes. The version covers
   * every row's version (xmin: the transaction that wrote it), so any change anywhere — by any writer,
   * also one a caller's transaction has not committed yet — is a new version.
   */
  async dynamicGroups(tx?: EventTransaction): Promise<CompiledGroup[]> {
    const sql = this.sql(tx);
    const v = await sql.query<{ version: string }>(
      `SELECT count(*) || ':' || COALESCE(md5(string_agg(id::text || '@' || xmin::text, ',' ORDER BY id)), '') AS version FROM device_groups`,
    );
    const version = v.rows[0]!.version;
    if (this.cache?.version === version) return this.cache.groups;
    const { rows } = await sql.query<{ id: string; name: string; rule: Rule | null; kind: string }>(
      'SELECT id, name, rule, kind FROM device_groups',
    );
    const ordered = orderGroups(rows.map((r) => ({ id: r.id, rule: r.kind === 'dynamic' ? r.rule : null })));
    if ('cycle' in ordered) throw new Error(`group rules form a cycle: ${ordered.cycle.join(' → ')}`);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const groups: CompiledGroup[] = [];
    for (const id of ordered.order) {
      const r = byId.get(id);
      if (!r || r.kind !== 'dynamic' || !r.rule) continue;
      try {
        groups.push({
          id,
          name: r.name,
          rule: r.rule,
          test: compileRule(r.rule),
          usesTime: usesTime(r.rule),
          references: referencedGroups(r.rule),
        });
      } catch (err) {
        this.o.logger.error({ err, groupId: id }, 'a stored group rule does not compile; skipping it');
      }
    }
    this.cache = { version, groups, needs: ruleNeeds(groups.map((g) => g.rule)) };
    return groups;
  }

  /** Incremental: every dynamic group for one device. Returns the membership changes made. */
  deviceChanged(deviceId: string, reason: string, tx?: EventTransaction): Promise<MembershipChange[]> {
    return this.devicesChanged([deviceId], reason, tx);
  }

  /**
   * Incremental for a set of devices (e.g. a bulk tag change): every dynamic group, evaluated for these
   * devices only, a thousand at a time. Cost grows with the devices changed, not with the fleet.
   */
  async devicesChanged(deviceIds: readonly string[], reason: string, tx?: EventTransaction): Promise<MembershipChange[]> {
    const changes: MembershipChange[] = [];
    for (let i = 0; i < deviceIds.length; i += 1000) {
      const batch = deviceIds.slice(i, i + 1000);
      // The facts load starts with the needs of the cached group set while that set's version is checked;
      // it is redone only when the groups changed in between. All of each device's memberships are loaded
      // (a row per group): they are also the current state.
      const cached = this.cache;
      const load = (needs: RuleNeeds) => this.loadFacts(batch, { ...needs, groups: 'all' }, new TimeSlicer(), tx);
      const [groups, early] = await readAll(tx, [
        () => this.dynamicGroups(tx),
        async () => (cached ? load(cached.needs) : undefined),
      ] as const);
      if (!groups.length) return [];
      const facts = this.cache === cached && early ? early : await load(this.cache!.needs);
      const dynamicIds = new Set(groups.map((g) => g.id));
      await new TimeSlicer().each(facts, ([deviceId, f]) => {
        const member = f.groups as Set<string>;
        const current = new Set([...member].filter((id) => dynamicIds.has(id)));
        const wanted = new Set<string>();
        for (const g of groups) {
          // Groups are in dependency order: a rule reading `memberOf` sees this evaluation's result.
          if (g.test(f)) {
            wanted.add(g.id);
            member.add(g.id);
          } else member.delete(g.id);
        }
        for (const id of wanted) if (!current.has(id)) changes.push({ groupId: id, deviceId, change: 'added' });
        for (const id of current) if (!wanted.has(id)) changes.push({ groupId: id, deviceId, change: 'removed' });
      });
    }
    return this.apply(changes, reason, tx);
  }

  /** Full: one group over every device, then the groups that reference it. */
  async groupChanged(groupId: string, reason: string, tx?: EventTransaction): Promise<MembershipChange[]> {
    const groups = await this.dynamicGroups(tx);
    const affected = new Set([groupId]);
    const toEvaluate = groups.filter((g) => {
      if (affected.has(g.id) || g.references.some((r) => affected.has(r))) {
        affected.add(g.id);
        return true;
      }
      return false;
    });
    const changes: MembershipChange[] = [];
    for (const g of toEvaluate) changes.push(...(await this.evaluateFully(g, reason, tx)));
    return changes;
  }

  /** Re-evaluates every group whose rule reads time (last seen, uptime…), and their dependents. */
  async refreshTimeBasedGroups(reason = 'scheduled refresh'): Promise<MembershipChange[]> {
    const changes: MembershipChange[] = [];
    for (const g of (await this.dynamicGroups()).filter((x) => x.usesTime)) changes.push(...(await this.groupChanged(g.id, reason)));
    return changes;
  }

  /**
   * Evaluates a rule without saving anything: the matching devices. With a budget (previews), throws
   * EvaluationBudgetExceeded once evaluation has used that much CPU time.
   */
  async matching(rule: Rule, o: { budgetMs?: number } = {}, tx?: EventTransaction): Promise<string[]> {
    const test = compileRule(rule);
    const slicer = new TimeSlicer(o.budgetMs);
    const facts = await this.loadFacts('all', ruleNeeds([rule]), slicer, tx);
    return (await slicer.filter(facts, ([, f]) => test(f))).map(([id]) => id);
  }

  private async evaluateFully(g: CompiledGroup, reason: string, tx?: EventTransaction): Promise<MembershipChange[]> {
    const matches = new Set(await this.matching(g.rule, {}, tx));
    return inTransaction(this.o.db, tx, { actor: this.actor }, async (t) => {
      const current = new Set(
        (await t.sql.query<{ device_id: string }>('SELECT device_id FROM device_group_members WHERE group_id = $1', [g.id])).rows.map(
          (r) => r.device_id,
        ),
      );
      const changes: MembershipChange[] = [
        ...[...matches].filter((d) => !current.has(d)).map((deviceId) => ({ groupId: g.id, deviceId, change: 'added' as const })),
        ...[...current].filter((d) => !matches.has(d)).map((deviceId) => ({ groupId: g.id, deviceId, change: 'removed' as const })),
      ];
      const applied = await this.apply(changes, reason, t);
      await t.sql.query('UPDATE device_groups SET evaluated_at = now() WHERE id = $1', [g.id]);
      return applied;
    });
  }

  /**
   * Writes membership changes with their membership events and group.membership_changed domain events,
   * in the caller's transaction or one of its own. Only what really changed counts (a concurrent
   * evaluation may have made the same change first), and that is what it returns. Rows are written in
   * one order (group, device) so concurrent writers do not deadlock.
   */
  async apply(changes: readonly MembershipChange[], reason: string, tx?: EventTransaction): Promise<MembershipChange[]> {
    if (!changes.length) return [];
    return inTransaction(this.o.db, tx, { actor: this.actor }, async (t) => {
      const byKey = (x: MembershipChange) => `${x.groupId}/${x.deviceId}`;
      const sorted = [...changes].sort((a, b) => (byKey(a) < byKey(b) ? -1 : byKey(a) > byKey(b) ? 1 : 0));
      const added = sorted.filter((x) => x.change === 'added');
      const removed = sorted.filter((x) => x.change === 'removed');
      const applied: MembershipChange[] = [];
      if (added.length) {
        const r = await t.sql.query<{ group_id: string; device_id: string }>(
          `INSERT INTO device_group_members (group_id, device_id) SELECT * FROM unnest($1::uuid[], $2::uuid[]) ON CONFLICT DO NOTHING RETURNING group_id, device_id`,
          [added.map((x) => x.groupId), added.map((x) => x.deviceId)],
        );
        applied.push(...r.rows.map((x) => ({ groupId: x.group_id, deviceId: x.device_id, change: 'added' as const })));
      }
      if (removed.length) {
        const r = await t.sql.query<{ group_id: string; device_id: string }>(
          `DELETE FROM device_group_members WHERE (group_id, device_id) IN (SELECT * FROM unnest($1::uuid[], $2::uuid[])) RETURNING group_id, device_id`,
          [removed.map((x) => x.groupId), removed.map((x) => x.deviceId)],
        );
        applied.push(...r.rows.map((x) => ({ groupId: x.group_id, deviceId: x.device_id, change: 'removed' as const })));
      }
      if (!applied.length) return applied;
      await t.sql.query(
        `INSERT INTO group_membership_events (group_id, device_id, change, reason) SELECT g, d, ch, $4 FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS t(g, d, ch)`,
        [applied.map((x) => x.groupId), applied.map((x) => x.deviceId), applied.map((x) => x.change), reason.slice(0, 500)],
      );
      await t.emit(...membershipEvents(applied, reason.slice(0, 500)));
      return applied;
    });
  }

  /**
   * Builds the facts of some or all devices (never retired ones: they belong to no group), loading only what the rules read: tags, custom fields and
   * memberships when used, and only the packages whose names match a software condition.
   */
  async loadFacts(
    deviceIds: string[] | 'all',
    needs: Omit<RuleNeeds, 'groups'> & { groups: string[] | 'all' },
    slicer = new TimeSlicer(),
    tx?: EventTransaction,
  ): Promise<Map<string, DeviceFacts>> {
    const pool = this.sql(tx);
    const all = deviceIds === 'all';
    const filter = all ? '' : 'WHERE device_id = ANY($1::uuid[])';
    const params = all ? [] : [deviceIds];
    const none = Promise.resolve({ rows: [] as never[] });
    const groupFilter =
      needs.groups === 'all'
        ? filter
        : `WHERE group_id = ANY($${params.length + 1}::uuid[])${all ? '' : ' AND device_id = ANY($1::uuid[])'}`;
    const [devices, tags, fields, memberships, software] = await readAll(tx, [
      () =>
        pool.query<DeviceRow>(
          `SELECT id, hostname, os_family, os_name, os_version, architecture, ip_addresses, agent_version, last_seen_at, agent_stopped_at, enrolled_at, rule_facts
           FROM devices WHERE retired_at IS NULL ${all ? '' : 'AND id = ANY($1::uuid[])'}`,
          params,
        ),
      () =>
        needs.tags ? pool.query<{ device_id: string; tag: string }>(`SELECT device_id, tag FROM device_tags ${filter}`, params) : none,
      () =>
        needs.customFields
          ? pool.query<{ device_id: string; key: string; value: string | number | boolean | null }>(
              `SELECT v.device_id, d.key, v.value FROM device_custom_field_values v JOIN custom_field_definitions d ON d.id = v.field_id ${all ? '' : 'WHERE v.device_id = ANY($1::uuid[])'}`,
              params,
            )
          : none,
      () =>
        needs.groups === 'all' || needs.groups.length
          ? pool.query<{ device_id: string; group_id: string }>(
              `SELECT device_id, group_id FROM device_group_members ${groupFilter}`,
              needs.groups === 'all' ? params : [...params, needs.groups],
            )
          : none,
      () => this.loadSoftware(all ? null : deviceIds, needs.software, slicer, pool),
    ] as const);
    const byDevice = <T extends { device_id: string }>(rows: T[]) => {
      const m = new Map<string, T[]>();
      for (const r of rows) (m.get(r.device_id) ?? m.set(r.device_id, []).get(r.device_id)!).push(r);
      return m;
    };
    const tagsBy = byDevice(tags.rows);
    const fieldsBy = byDevice(fields.rows);
    const groupsBy = byDevice(memberships.rows);
    const now = this.now();
    const out = new Map<string, DeviceFacts>();
    for (const d of devices.rows) {
      const facts = factsFromDevice(
        {
          device: {
            hostname: d.hostname,
            osFamily: d.os_family,
            osName: d.os_name,
            osVersion: d.os_version,
            architecture: d.architecture,
            ipAddresses: d.ip_addresses,
            agentVersion: d.agent_version,
            lastSeenAt: d.last_seen_at,
            agentStoppedAt: d.agent_stopped_at,
            enrolledAt: d.enrolled_at,
          },
          inventory: d.rule_facts,
          tags: (tagsBy.get(d.id) ?? []).map((t) => t.tag),
          customFields: Object.fromEntries((fieldsBy.get(d.id) ?? []).map((f) => [f.key, f.value])),
          groups: new Set((groupsBy.get(d.id) ?? []).map((g) => g.group_id)),
          software: software.get(d.id) ?? [],
        },
        now,
        { presence: this.presence },
      );
      out.set(d.id, facts);
    }
    return out;
  }

  /** Only packages whose name matches one of the patterns rules test for. */
  private async loadSoftware(
    deviceIds: string[] | null,
    needs: RuleNeeds['software'],
    slicer: TimeSlicer,
    sql: Sql,
  ): Promise<Map<string, { name: string; version: string }[]>> {
    const out = new Map<string, { name: string; version: string }[]>();
    if (needs.length === 0) return out;
    const where: string[] = [];
    const params: unknown[] = [];
    if (deviceIds) {
      params.push(deviceIds);
      where.push(`device_id = ANY($${params.length}::uuid[])`);
    }
    {
      // Regexes follow JavaScript syntax, which Postgres' `~*` does not: match them against the distinct
      // package names in JS and look the matches up exactly. Other patterns translate to SQL faithfully.
      const regexes = needs.filter((n) => n.match === 'regex');
      const plain = needs.filter((n) => n.match !== 'regex');
      const alternatives = plain.map((n) => {
        const v = n.name.toLowerCase();
        params.push(n.match === 'equals' ? v : n.match === 'starts_with' ? `${likeLiteral(v)}%` : `%${likeLiteral(v)}%`);
        return n.match === 'equals' ? `normalized_name = $${params.length}` : `normalized_name LIKE $${params.length}`;
      });
      if (regexes.length) {
        const test = softwareNameFilter(regexes);
        const { rows } = await sql.query<{ n: string }>('SELECT DISTINCT normalized_name AS n FROM device_software');
        const names = await slicer.filter(
          rows.map((r) => r.n),
          test,
        );
        params.push(names);
        alternatives.push(`normalized_name = ANY($${params.length}::text[])`);
      }
      where.push(`(${alternatives.join(' OR ')})`);
    }
    const { rows } = await sql.query<{ device_id: string; name: string; version: string }>(
      `SELECT device_id, name, version FROM device_software ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`,
      params,
    );
    for (const r of rows) (out.get(r.device_id) ?? out.set(r.device_id, []).get(r.device_id)!).push({ name: r.name, version: r.version });
    return out;
  }
}

/** One group.membership_changed event per group and at most DEVICES_PER_EVENT devices. */
function membershipEvents(changes: readonly MembershipChange[], reason: string): NewDomainEvent[] {
  const byGroup = new Map<string, MembershipChange[]>();
  for (const c of changes) (byGroup.get(c.groupId) ?? byGroup.set(c.groupId, []).get(c.groupId)!).push(c);
  const events: NewDomainEvent[] = [];
  for (const [groupId, list] of byGroup) {
    for (let i = 0; i < list.length; i += DEVICES_PER_EVENT) {
      const part = list.slice(i, i + DEVICES_PER_EVENT);
      events.push(
        domainEvent('group.membership_changed', {
          groupId,
          reason,
          added: part.filter((c) => c.change === 'added').map((c) => c.deviceId),
          removed: part.filter((c) => c.change === 'removed').map((c) => c.deviceId),
        }),
      );
    }
  }
  return events;
}
