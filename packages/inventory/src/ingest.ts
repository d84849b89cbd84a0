/**
 * Inventory ingest: validates a delta against the stored section hashes, stores changed sections,
 * keeps the software table and the device's denormalised columns current, and records history events
 * for what changed. Everything for one report happens in one transaction — also the group memberships
 * the new facts imply and the inventory.changed event — so a crash at any point leaves the report and
 * the memberships consistent: all of it stored, or none (the agent sends the report again).
 */
import {
  inventorySectionNames,
  type InventoryReport,
  type InventoryResponse,
  type InventorySections,
  type InventorySectionName,
  type SoftwarePackage,
} from '@opsconductor/contracts/inventory';
import type { Database } from '@opsconductor/db';
import { domainEvent, type Sql } from '@opsconductor/domain-events';
import type { GroupMembership } from '@opsconductor/groups';
import { ServiceError, conflict, deviceActor, withUnitOfWork, type Origin } from '@opsconductor/unit-of-work';
import { diffSection, softwareChanges, type InventoryChange } from './history.ts';

/** Sections whose content the device row and the rule facts are derived from. */
const FACT_SECTIONS = ['system', 'hardware', 'directory', 'security', 'performance'] as const satisfies readonly InventorySectionName[];

export interface IngestResult extends InventoryResponse {
  /** Whether anything rules read changed (facts or software): groups were re-evaluated for the device. */
  factsChanged: boolean;
}

export interface InventoryServiceDeps {
  db: Database;
  membership: GroupMembership;
  /** How often agents send a full inventory, and a delta in between (told to the agent in every answer). */
  fullIntervalSeconds: number;
  deltaIntervalSeconds: number;
  /** Fault injection for tests: runs after the report is stored, before the memberships are evaluated. */
  afterReportStored?: (deviceId: string) => Promise<void>;
}

export class InventoryService {
  constructor(private readonly deps: InventoryServiceDeps) {}

  async ingest(origin: Omit<Origin, 'actor'>, device: { id: string; hostname: string }, report: InventoryReport): Promise<IngestResult> {
    const { deps } = this;
    return withUnitOfWork(deps.db, { ...origin, actor: deviceActor(device) }, async (uow) => {
      const client = uow.sql;
      // Holds the device row against deletion while the report is written; a device deleted (or retired)
      // after it authenticated gets a 401 here instead of a foreign-key error.
      const live = await client.query('SELECT 1 FROM devices WHERE id = $1 AND retired_at IS NULL FOR KEY SHARE', [device.id]);
      if (!live.rowCount) throw new ServiceError('unauthenticated', 'device_unauthenticated', 'This device no longer exists.');
      // One query reads every stored hash, and the data the diff and the rule facts may need; its row locks
      // order concurrent reports of one device (an agent sends one at a time anyway).
      const wanted = [
        ...new Set<InventorySectionName>([
          ...FACT_SECTIONS,
          ...(Object.keys(report.sections) as InventorySectionName[]).filter((n) => n !== 'services'),
        ]),
      ];
      const storedRows = (
        await client.query<{ section: InventorySectionName; hash: string; data: unknown }>(
          `SELECT section, hash, CASE WHEN section = ANY($2::text[]) THEN data END AS data FROM device_inventory_sections WHERE device_id = $1 FOR UPDATE`,
          [device.id, wanted],
        )
      ).rows;
      const stored = new Map(storedRows.map((r) => [r.section, r.hash]));
      if (report.mode === 'delta') {
        const missingBase =
          stored.size === 0 ||
          inventorySectionNames.some(
            (name) => !(name in report.sections) && report.hashes[name] !== undefined && stored.get(name) !== report.hashes[name],
          );
        if (missingBase)
          throw conflict('inventory_full_report_required', 'The server has no matching base for this delta; send a full report.');
      }
      const changed = (Object.keys(report.sections) as InventorySectionName[]).filter((name) => stored.get(name) !== report.hashes[name]);
      const firstReport = stored.size === 0;
      const sent = report.sections as Partial<InventorySections>;

      // Sections with history are diffed against their previous version; the rule facts need the others too.
      const needOld = changed.filter((n) => n !== 'performance' && n !== 'services' && stored.has(n));
      const factChanged = changed.some((n) => (FACT_SECTIONS as readonly string[]).includes(n));
      const old = new Map<InventorySectionName, unknown>();
      const unchanged: Partial<InventorySections> = {};
      for (const r of storedRows) {
        if (needOld.includes(r.section)) old.set(r.section, r.data);
        else if (factChanged && (FACT_SECTIONS as readonly string[]).includes(r.section) && !changed.includes(r.section))
          (unchanged as Record<string, unknown>)[r.section] = r.data;
      }

      const events: InventoryChange[] = firstReport
        ? [
            {
              section: 'system',
              kind: 'inventory_first_report',
              subject: 'inventory',
              oldValue: null,
              newValue: `${changed.length} sections`,
            },
          ]
        : needOld.flatMap((name) => diffSection(name, old.get(name) as never, sent[name] as never));

      if (changed.length) {
        await client.query(
          `INSERT INTO device_inventory_sections (device_id, section, hash, data, updated_at)
           SELECT $1, s, h, d::jsonb, now() FROM unnest($2::text[], $3::text[], $4::text[]) AS t(s, h, d)
           ON CONFLICT (device_id, section) DO UPDATE SET hash = EXCLUDED.hash, data = EXCLUDED.data, updated_at = now()`,
          [device.id, changed, changed.map((n) => report.hashes[n]), changed.map((n) => JSON.stringify(sent[n]))],
        );
      }
      if (changed.includes('software')) {
        const before = (old.get('software') as InventorySections['software'] | undefined)?.packages ?? [];
        await syncSoftware(client, device.id, firstReport || !old.has('software') ? null : before, sent.software!.packages);
      }
      if (events.length) await insertEvents(client, device.id, report.collectedAt, events);

      if (factChanged) {
        const merged: Partial<InventorySections> = { ...unchanged, ...pick(sent, FACT_SECTIONS) };
        const system = merged.system;
        const hardware = merged.hardware;
        const ips = hardware ? [...new Set(hardware.networkInterfaces.flatMap((n) => [...n.ipv4, ...n.ipv6]))].slice(0, 64) : null;
        await client.query(
          `UPDATE devices SET
              hostname = COALESCE($2, hostname), os_family = COALESCE($3, os_family), os_name = COALESCE($4, os_name),
              os_version = COALESCE($5, os_version), architecture = COALESCE($6, architecture),
              ip_addresses = COALESCE($7::text[], ip_addresses), manufacturer = $8, model = $9, pending_reboot = $10,
              rule_facts = $11, inventory_updated_at = now(), updated_at = now()
            WHERE id = $1`,
          [
            device.id,
            system?.hostname ?? null,
            system?.osFamily ?? null,
            system?.osName ?? null,
            system?.osVersion ?? null,
            system?.architecture ?? null,
            ips,
            hardware?.manufacturer ?? null,
            hardware?.model ?? null,
            system?.pendingReboot ?? null,
            JSON.stringify(deps.membership.ruleFacts(merged, new Date(Math.min(Date.parse(report.collectedAt), Date.now())))),
          ],
        );
      } else {
        await client.query('UPDATE devices SET inventory_updated_at = now() WHERE id = $1', [device.id]);
      }
      await deps.afterReportStored?.(device.id);
      const factsChanged = factChanged || changed.includes('software');
      if (factsChanged) await deps.membership.deviceChanged(device.id, 'inventory changed', uow);
      if (changed.length) {
        await uow.emit(
          domainEvent('inventory.changed', { deviceId: device.id, changedSections: changed, firstReport, historyEvents: events.length }),
        );
      }
      return {
        accepted: true,
        changedSections: changed,
        fullIntervalSeconds: deps.fullIntervalSeconds,
        deltaIntervalSeconds: deps.deltaIntervalSeconds,
        factsChanged,
      };
    });
  }
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Partial<T> {
  const out: Partial<T> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** Applies a software diff to device_software (or replaces everything when there is no previous list). */
async function syncSoftware(client: Sql, deviceId: string, before: readonly SoftwarePackage[] | null, after: readonly SoftwarePackage[]) {
  let toInsert: readonly SoftwarePackage[] = after;
  if (before === null) {
    await client.query('DELETE FROM device_software WHERE device_id = $1', [deviceId]);
  } else {
    const { installed, removed, upgraded } = softwareChanges(before, after);
    const gone = [...removed, ...upgraded.map((u) => u.from)];
    if (gone.length) {
      await client.query(
        `DELETE FROM device_software WHERE device_id = $1 AND (source, name, COALESCE(architecture, '')) IN
           (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]))`,
        [deviceId, gone.map((p) => p.source), gone.map((p) => p.name), gone.map((p) => p.architecture ?? '')],
      );
    }
    toInsert = [...installed, ...upgraded.map((u) => u.to)];
  }
  if (!toInsert.length) return;
  const col = <K extends keyof SoftwarePackage>(k: K) => toInsert.map((p) => p[k] ?? null);
  await client.query(
    `INSERT INTO device_software (device_id, name, normalized_name, version, architecture, vendor, install_date, source, product_code, upgrade_code)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])`,
    [
      deviceId,
      col('name'),
      toInsert.map((p) => p.name.toLowerCase()),
      col('version'),
      col('architecture'),
      col('vendor'),
      col('installDate'),
      col('source'),
      col('productCode'),
      col('upgradeCode'),
    ],
  );
}

async function insertEvents(client: Sql, deviceId: string, collectedAt: string, events: readonly InventoryChange[]) {
  const clip = (s: string | null) => (s === null ? null : s.slice(0, 2000));
  await client.query(
    `INSERT INTO device_inventory_events (device_id, occurred_at, section, kind, subject, old_value, new_value)
     SELECT $1, LEAST($2::timestamptz, now()), * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
    [
      deviceId,
      collectedAt,
      events.map((e) => e.section),
      events.map((e) => e.kind),
      events.map((e) => e.subject.slice(0, 500)),
      events.map((e) => clip(e.oldValue)),
      events.map((e) => clip(e.newValue)),
    ],
  );
}
