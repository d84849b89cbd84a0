/** Words, tones and links of the alerting pages (alerts, rules, channels, policies). Pure; shared by server and browser. */
import type { Tone } from '~/components/ui';

export const alertSeverities = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof alertSeverities)[number];
export const alertStates = ['open', 'acknowledged', 'resolved'] as const;
export type AlertState = (typeof alertStates)[number];

/** The longest acknowledgement comment or resolution reason the API takes. */
export const MAX_NOTE = 2000;
export type AlertIntent = 'acknowledge' | 'resolve';

export const severityLabel: Record<AlertSeverity, string> = { info: 'Info', warning: 'Warning', critical: 'Critical' };
export const severityTone: Record<AlertSeverity, Tone> = { info: 'blue', warning: 'amber', critical: 'red' };
export const stateLabel: Record<AlertState, string> = { open: 'Open', acknowledged: 'Acknowledged', resolved: 'Resolved' };
export const stateTone: Record<AlertState, Tone> = { open: 'red', acknowledged: 'amber', resolved: 'green' };

export const ruleTypeLabel: Record<string, string> = {
  device_offline: 'Device offline',
  disk_free: 'Low disk space',
  job_run_failed: 'Job run failed',
  deployment_failed: 'Deployment failed',
  agent_outdated: 'Agent outdated',
  device_rule: 'Devices matching a rule',
};

export const channelTypeLabel: Record<string, string> = {
  slack: 'Slack',
  teams: 'Microsoft Teams',
  discord: 'Discord',
  webhook: 'Webhook',
  smtp: 'Email (SMTP)',
  resend: 'Email (Resend)',
};

export const deliveryTone: Record<string, Tone> = { delivered: 'green', failed: 'red', skipped: 'gray' };

/** Where an alert's subject lives in the console. */
export function subjectHref(subject: { type: string; id: string }): string | null {
  switch (subject.type) {
    case 'device':
      return `/devices/${subject.id}`;
    case 'job_run':
      return `/runs/${subject.id}`;
    case 'deployment':
      return `/deployments/${subject.id}`;
    default:
      return null;
  }
}

/** One line about what a rule watches: "Offline for more than 10 min". */
export function conditionText(condition: Record<string, unknown>): string {
  switch (condition.type) {
    case 'device_offline':
      return `Offline for more than ${String(condition.minutes)} min`;
    case 'disk_free':
      return `A volume below ${String(condition.belowPercent)}% free`;
    case 'job_run_failed':
      return 'A job run failed';
    case 'deployment_failed':
      return condition.includePaused === false ? 'A deployment failed' : 'A deployment failed or paused itself';
    case 'agent_outdated':
      return `Agent older than ${String(condition.minimumVersion)}`;
    case 'device_rule':
      return 'A device matches the rule';
    default:
      return String(condition.type);
  }
}
