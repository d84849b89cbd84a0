import { describe, expect, it } from 'vitest';
import { humanize, timelineDetail, timelineTitle } from './timeline';

const ev = (kind: string, subject: string, oldValue: string | null, newValue: string | null, section = 'software') => ({
  kind,
  subject,
  oldValue,
  newValue,
  section,
});

describe('timeline text', () => {
  it('describes software changes', () => {
    expect(timelineTitle(ev('software_upgraded', 'openssl', '3.0.11', '3.0.13'))).toBe('Upgraded openssl 3.0.11 → 3.0.13');
    expect(timelineTitle(ev('software_installed', 'curl', null, '8.5.0'))).toBe('Installed curl 8.5.0');
    expect(timelineTitle(ev('software_removed', 'telnet', '0.17', null))).toBe('Removed telnet 0.17');
    expect(timelineDetail(ev('software_upgraded', 'openssl', '3.0.11', '3.0.13'))).toBeNull();
  });

  it('describes other changes with a before/after detail', () => {
    const ip = ev('ip_changed', 'ipAddresses', '10.0.0.1', '10.0.0.2', 'hardware');
    expect(timelineTitle(ip)).toBe('IP addresses changed');
    expect(timelineDetail(ip)).toBe('10.0.0.1 → 10.0.0.2');
    expect(timelineTitle(ev('hardware_changed', 'memoryBytes', '1', '2', 'hardware'))).toBe('Memory bytes changed');
    expect(timelineTitle(ev('hostname_changed', 'hostname', 'a', 'b', 'system'))).toBe('Hostname changed a → b');
    expect(timelineTitle(ev('inventory_first_report', '', null, null, 'system'))).toBe('First inventory report');
  });

  it('humanizes subjects', () => {
    expect(humanize('serialNumber')).toBe('Serial number');
    expect(humanize('firewall.enabled')).toBe('Firewall enabled');
  });
});
