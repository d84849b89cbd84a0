/** The message a channel gets about an alert (rendered per platform by packages/notifications). */
import type { Database } from '@opsconductor/db';
import type { AlertMessage } from '@opsconductor/notifications';

const KIND_TITLES: Record<'opened' | 'escalated' | 'resolved', string> = {
  opened: 'Alert',
  escalated: 'Escalated',
  resolved: 'Resolved',
};

/** The alert as a message of `kind` for escalation `level`, linking to the console (`consoleUrl`/alerts/<id>). */
export async function alertMessage(
  db: Database,
  o: { alertId: string; kind: 'opened' | 'escalated' | 'resolved'; level: number; consoleUrl: string },
): Promise<AlertMessage | null> {
  const { rows } = await db.pool.query<{
    severity: AlertMessage['severity'];
    summary: string;
    subject_type: string;
    subject_key: string;
    subject_label: string;
    rule_name: string;
    opened_at: Date;
    resolved_at: Date | null;
    resolution: string | null;
  }>(
    `SELECT a.severity, a.summary, a.subject_type, a.subject_key, a.subject_label, r.name AS rule_name, a.opened_at, a.resolved_at, a.resolution
       FROM alerts a JOIN alert_rules r ON r.id = a.rule_id WHERE a.id = $1`,
    [o.alertId],
  );
  const a = rows[0];
  if (!a) return null;
  const base = o.consoleUrl.replace(/\/+$/, '');
  const subjectPath = a.subject_type === 'device' ? 'devices' : a.subject_type === 'job_run' ? 'runs' : 'deployments';
  return {
    kind: o.kind,
    severity: a.severity,
    title: `${KIND_TITLES[o.kind]}: ${a.summary}`.slice(0, 200),
    summary: o.kind === 'resolved' && a.resolution ? `${a.summary}\nResolved: ${a.resolution}` : a.summary,
    ruleName: a.rule_name,
    subjects: [{ label: a.subject_label, url: `${base}/${subjectPath}/${encodeURIComponent(a.subject_key)}` }],
    count: 1,
    url: `${base}/alerts/${o.alertId}`,
    occurredAt: (o.kind === 'resolved' ? (a.resolved_at ?? new Date()) : a.opened_at).toISOString(),
    level: o.level,
  };
}
