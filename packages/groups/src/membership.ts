/**
 * Group membership: evaluates dynamic-group rules and records every membership change as an event.
 * - One device changed (inventory, tags, custom fields, static membership): every dynamic group is
 *   evaluated for that device only, in dependency order (incremental).
 * - A rule changed, or a group other rules reference changed: that group (and its dependents) is
 *   evaluated over all devices (full).
 * - Rules that read time (last seen, uptime…) are refreshed on a schedule (refreshTimeBasedGroups).
 * Rules are compiled once per version of the dynamic-group set.
 */
import type { Logger } from 'pino';
import type pg from 'pg';
import { withTransaction, type Database } from '@opsconductor/db';
import type { InventorySections } from '@opsconductor/contracts/inventory';
import type { Rule } from '@opsconductor/contracts/rules';
import { TimeSlicer } from './time-slice.ts';
import { compileRule, DEFAULT_ONLINE_WINDOW_SECONDS, factsFromDevice, inventoryFacts, orderGroups, referencedGroups, ruleNeeds, softwareNameFilter, usesTime, type DeviceFacts, type InventoryFacts, type RuleNeeds } from '@opsconductor/rules';

export interface CompiledGroup { id: string; name: string; rule: Rule; test: (f: DeviceFacts) => boolean; usesTime: boolean; references: string[] }
interface DeviceRow {
  id: string; hostname: string; os_family: string; os_name: string; os_version: string; architecture: string; ip_addresses: string[];
  agent_version: string; last_seen_at: Date | null; agent_stopped_at: Date | null; enrolled_at: Date; rule_facts: InventoryFacts | null;
}
export interface MembershipChange { groupId: string; deviceId: string; change: 'added' | 'removed' }

export interface GroupMembershipOptions {
  db: Database;
  logger: Logger;
  /** The same window the API's device status uses (DEVICE_ONLINE_WINDOW_SECONDS); default 90 s. */
  onlineWindowSeconds?: number;
  now?: () => Date;
}

export class GroupMembership {
  private cache: { version: string; groups: CompiledGroup[]; needs: RuleNeeds } | undefined;
  private readonly onlineWindowSeconds: number;
  private readonly now: () => Date;

  constructor(private readonly o: GroupMembershipOptions) {
    this.onlineWindowSeconds = o.onlineWindowSeconds ?? DEFAULT_ONLINE_WINDOW_SECONDS;
    this.now = o.now ?? (() => new Date());
  }

  /** The inventory-derived facts stored on the device row at ingest (Device.ruleFacts). */
  readonly ruleFacts = (sections: Partial<InventorySections>, collectedAt = this.now()): InventoryFacts => inventoryFacts(sections, collectedAt);

  /** Dynamic groups in dependency order, compiled; reloaded when any group changes. */
  async dynamicGroups(): Promise<CompiledGroup[]> {
    const { pool } = this.o.db;
    const v = await pool.query<{ version: string }>(`SELECT COALESCE(max(updated_at)::text, '') || ':' || count(*) AS version FROM device_groups`);
    const version = v.rows[0]!.version;
    if (this.cache?.version === version) return this.cache.groups;
    const { rows } = await pool.query<{ id: string; name: string; rule: Rule | null; kind: string }>('SELECT id, name, rule, kind FROM device_groups');
    const ordered = orderGroups(rows.map((r) => ({ id: r.id, rule: r.kind === 'dynamic' ? r.rule : null })));
    if ('cycle' in ordered) throw new Error(`group rules form a cycle: ${ordered.cycle.join(' → ')}`);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const groups: CompiledGroup[] = [];
    for (const id of ordered.order) {
      const r = byId.get(id);
      if (!r || r.kind !== 'dynamic' || !r.rule) continue;
      try {
        groups.push({ id, name: r.name, rule: r.rule, test: compileRule(r.rule), usesTime: usesTime(r.rule), references: referencedGroups(r.rule) });
      } catch (err) {
        this.o.logger.error({ err, groupId: id }, 'a stored group rule does not compile; skipping it');
      }
    }
    this.cache = { version, groups, needs: ruleNeeds(groups.map((g) => g.rule)) };
    return groups;
  }

  /** Incremental: every dynamic group for one device. Returns the membership changes made. */
  deviceChanged(deviceId: string, reason: string): Promise<MembershipChange[]> {
    return this.devicesChanged([deviceId], reason);
  }

  /**
   * Incremental for a set of devices (e.g. a bulk tag change): every dynamic group, evaluated for these
   * devices only, a thousand at a time. Cost grows with the devices changed, not with the fleet.
   */
  async devicesChanged(deviceIds: readonly string[], reason: string): Promise<MembershipChange[]> {
    const changes: MembershipChange[] = [];
    for (let i = 0; i < deviceIds.length; i += 1000) {
      const batch = deviceIds.slice(i, i + 1000);
      // The facts load starts with the needs of the cached group set while that set's version is checked;
      // it is redone only when the groups changed in between. All of each device's memberships are loaded
      // (a row per group): they are also the current state.
      const cached = this.cache;
      const load = (needs: RuleNeeds) => this.loadFacts(batch, { ...needs, groups: 'all' });
      const [groups, early] = await Promise.all([this.dynamicGroups(), cached ? load(cached.needs) : undefined]);
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
    await this.apply(changes, reason);
    return changes;
  }

  /** Full: one group over every device, then the groups that reference it. */
  async groupChanged(groupId: string, reason: string): Promise<MembershipChange[]> {
    const groups = await this.dynamicGroups();
    const affected = new Set([groupId]);
    const toEvaluate = groups.filter((g) => {
      if (affected.has(g.id) || g.references.some((r) => affected.has(r))) {
        affected.add(g.id);
        return true;
      }
      return false;
    });
    const changes: MembershipChange[] = [];
    for (const g of toEvaluate) changes.push(...(await this.evaluateFully(g, reason)));
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
  async matching(rule: Rule, o: { budgetMs?: number } = {}): Promise<string[]> {
    const test = compileRule(rule);
    const slicer = new TimeSlicer(o.budgetMs);
    const facts = await this.loadFacts('all', ruleNeeds([rule]), slicer);
    return (await slicer.filter(facts, ([, f]) => test(f))).map(([id]) => id);
  }

  private async evaluateFully(g: CompiledGroup, reason: string): Promise<MembershipChange[]> {
    const matches = new Set(await this.matching(g.rule));
    const current = new Set((await this.o.db.pool.query<{ device_id: string }>('SELECT device_id FROM device_group_members WHERE group_id = $1', [g.id])).rows.map((r) => r.device_id));
    const changes: MembershipChange[] = [
      ...[...matches].filter((d) => !current.has(d)).map((deviceId) => ({ groupId: g.id, deviceId, change: 'added' as const })),
      ...[...current].filter((d) => !matches.has(d)).map((deviceId) => ({ groupId: g.id, deviceId, change: 'removed' as const })),
    ];
    await this.apply(changes, reason);
    await this.o.db.pool.query('UPDATE device_groups SET evaluated_at = now() WHERE id = $1', [g.id]);
    return changes;
  }

  /** Writes membership changes and their events in one transaction. */
  async apply(changes: readonly MembershipChange[], reason: string, client?: pg.PoolClient): Promise<void> {
    if (!changes.length) return;
    const run = async (c: pg.PoolClient) => {
      const added = changes.filter((x) => x.change === 'added');
      const removed = changes.filter((x) => x.change === 'removed');
      if (added.length) {
        await c.query(
          `INSERT INTO device_group_members (group_id, device_id) SELECT * FROM unnest($1::uuid[], $2::uuid[]) ON CONFLICT DO NOTHING`,
          [added.map((x) => x.groupId), added.map((x) => x.deviceId)],
        );
      }
      if (removed.length) {
        await c.query(
          `DELETE FROM device_group_members WHERE (group_id, device_id) IN (SELECT * FROM unnest($1::uuid[], $2::uuid[]))`,
          [removed.map((x) => x.groupId), removed.map((x) => x.deviceId)],
        );
      }
      await c.query(
        `INSERT INTO group_membership_events (group_id, device_id, change, reason) SELECT g, d, ch, $4 FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS t(g, d, ch)`,
        [changes.map((x) => x.groupId), changes.map((x) => x.deviceId), changes.map((x) => x.change), reason.slice(0, 500)],
      );
    };
    if (client) return run(client);
    return withTransaction(this.o.db.pool, run);
  }

  /**
   * Builds the facts of some or all devices (never retired ones: they belong to no group), loading only what the rules read: tags, custom fields and
   * memberships when used, and only the packages whose names match a software condition.
   */
  async loadFacts(deviceIds: string[] | 'all', needs: Omit<RuleNeeds, 'groups'> & { groups: string[] | 'all' }, slicer = new TimeSlicer()): Promise<Map<string, DeviceFacts>> {
    const { pool } = this.o.db;
    const all = deviceIds === 'all';
    const filter = all ? '' : 'WHERE device_id = ANY($1::uuid[])';
    const params = all ? [] : [deviceIds];
    const none = Promise.resolve({ rows: [] as never[] });
    const groupFilter = needs.groups === 'all' ? filter : `WHERE group_id = ANY($${params.length + 1}::uuid[])${all ? '' : ' AND device_id = ANY($1::uuid[])'}`;
    const [devices, tags, fields, memberships, software] = await Promise.all([
      pool.query<DeviceRow>(
        `SELECT id, hostname, os_family, os_name, os_version, architecture, ip_addresses, agent_version, last_seen_at, agent_stopped_at, enrolled_at, rule_facts
           FROM devices WHERE retired_at IS NULL ${all ? '' : 'AND id = ANY($1::uuid[])'}`,
        params,
      ),
      needs.tags ? pool.query<{ device_id: string; tag: string }>(`SELECT device_id, tag FROM device_tags ${filter}`, params) : none,
      needs.customFields
        ? pool.query<{ device_id: string; key: string; value: string | number | boolean | null }>(
            `SELECT v.device_id, d.key, v.value FROM device_custom_field_values v JOIN custom_field_definitions d ON d.id = v.field_id ${all ? '' : 'WHERE v.device_id = ANY($1::uuid[])'}`,
            params,
          )
        : none,
      needs.groups === 'all' || needs.groups.length
        ? pool.query<{ device_id: string; group_id: string }>(`SELECT device_id, group_id FROM device_group_members ${groupFilter}`, needs.groups === 'all' ? params : [...params, needs.groups])
        : none,
      this.loadSoftware(all ? null : deviceIds, needs.software, slicer),
    ]);
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
            hostname: d.hostname, osFamily: d.os_family, osName: d.os_name, osVersion: d.os_version, architecture: d.architecture,
            ipAddresses: d.ip_addresses, agentVersion: d.agent_version, lastSeenAt: d.last_seen_at, agentStoppedAt: d.agent_stopped_at, enrolledAt: d.enrolled_at,
          },
          inventory: d.rule_facts,
          tags: (tagsBy.get(d.id) ?? []).map((t) => t.tag),
          customFields: Object.fromEntries((fieldsBy.get(d.id) ?? []).map((f) => [f.key, f.value])),
          groups: new Set((groupsBy.get(d.id) ?? []).map((g) => g.group_id)),
          software: software.get(d.id) ?? [],
        },
        now,
        { onlineWindowSeconds: this.onlineWindowSeconds },
      );
      out.set(d.id, facts);
    }
    return out;
  }

  /** Only packages whose name matches one of the patterns rules test for. */
  private async loadSoftware(deviceIds: string[] | null, needs: RuleNeeds['software'], slicer: TimeSlicer): Promise<Map<string, { name: string; version: string }[]>> {
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
        params.push(n.match === 'equals' ? v : n.match === 'starts_with' ? `${escapeLike(v)}%` : `%${escapeLike(v)}%`);
        return n.match === 'equals' ? `normalized_name = $${params.length}` : `normalized_name LIKE $${params.length}`;
      });
      if (regexes.length) {
        const test = softwareNameFilter(regexes);
        const { rows } = await this.o.db.pool.query<{ n: string }>('SELECT DISTINCT normalized_name AS n FROM device_software');
        const names = await slicer.filter(rows.map((r) => r.n), test);
        params.push(names);
        alternatives.push(`normalized_name = ANY($${params.length}::text[])`);
      }
      where.push(`(${alternatives.join(' OR ')})`);
    }
    const { rows } = await this.o.db.pool.query<{ device_id: string; name: string; version: string }>(
      `SELECT device_id, name, version FROM device_software ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`,
      params,
    );
    for (const r of rows) (out.get(r.device_id) ?? out.set(r.device_id, []).get(r.device_id)!).push({ name: r.name, version: r.version });
    return out;
  }
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);


