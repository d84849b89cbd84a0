/** Readable text for a device's history events (inventory changes). Pure; shared by server and browser. */

export type TimelineEvent = {
  kind: string;
  section: string;
  subject: string;
  oldValue: string | null;
  newValue: string | null;
};

export const timelineKindLabels: Record<string, string> = {
  software_installed: 'Software installed',
  software_removed: 'Software removed',
  software_upgraded: 'Software upgraded',
  os_changed: 'Operating system',
  hardware_changed: 'Hardware',
  ip_changed: 'IP addresses',
  domain_changed: 'Domain',
  hostname_changed: 'Hostname',
  security_changed: 'Security',
  inventory_first_report: 'First inventory',
};

/** camelCase or snake_case subject → "Serial number". */
export function humanize(subject: string): string {
  const spaced = subject
    .replace(/[._]/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .trim()
    .toLowerCase();
  return spaced ? spaced[0]!.toUpperCase() + spaced.slice(1) : subject;
}

const arrow = (from: string | null, to: string | null) => `${from || '—'} → ${to || '—'}`;

/** One line per event: "Upgraded openssl 3.0.11 → 3.0.13", "IP addresses changed". */
export function timelineTitle(e: TimelineEvent): string {
  switch (e.kind) {
    case 'software_installed':
      return `Installed ${e.subject}${e.newValue ? ` ${e.newValue}` : ''}`;
    case 'software_removed':
      return `Removed ${e.subject}${e.oldValue ? ` ${e.oldValue}` : ''}`;
    case 'software_upgraded':
      return `Upgraded ${e.subject} ${arrow(e.oldValue, e.newValue)}`;
    case 'ip_changed':
      return 'IP addresses changed';
    case 'hostname_changed':
      return `Hostname changed ${arrow(e.oldValue, e.newValue)}`;
    case 'domain_changed':
      return `Domain changed ${arrow(e.oldValue, e.newValue)}`;
    case 'os_changed':
      return e.subject && !/^os$/i.test(e.subject)
        ? `${humanize(e.subject)} changed ${arrow(e.oldValue, e.newValue)}`
        : `Operating system changed ${arrow(e.oldValue, e.newValue)}`;
    case 'inventory_first_report':
      return 'First inventory report';
    case 'hardware_changed':
    case 'security_changed':
    default:
      return e.subject ? `${humanize(e.subject)} changed` : `${humanize(e.section)} changed`;
  }
}

/** The before/after detail shown under the title, when the title does not already say it. */
export function timelineDetail(e: TimelineEvent): string | null {
  if (
    [
      'software_installed',
      'software_removed',
      'software_upgraded',
      'hostname_changed',
      'domain_changed',
      'os_changed',
      'inventory_first_report',
    ].includes(e.kind)
  ) {
    return null;
  }
  if (e.oldValue === null && e.newValue === null) return null;
  return arrow(e.oldValue, e.newValue);
}
