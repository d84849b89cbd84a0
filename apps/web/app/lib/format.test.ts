import { describe, expect, it } from 'vitest';
import {
  absoluteTime,
  formatBytes,
  formatDuration,
  formatSeconds,
  formatUptime,
  oneLine,
  percentOf,
  relativeTime,
  softwareOutcomeText,
} from './format';

const now = Date.parse('2025-03-01T12:00:00Z');
const ago = (s: number) => new Date(now - s * 1000).toISOString();

describe('relativeTime', () => {
  it('says "x min ago" for the last hour and coarser units after', () => {
    expect(relativeTime(ago(10), now)).toBe('just now');
    expect(relativeTime(ago(60), now)).toBe('1 min ago');
    expect(relativeTime(ago(59 * 60), now)).toBe('59 min ago');
    expect(relativeTime(ago(3 * 3600), now)).toBe('3 h ago');
    expect(relativeTime(ago(2 * 86_400), now)).toBe('2 d ago');
    expect(relativeTime(ago(-2 * 3600), now)).toBe('in 2 h');
  });
  it('handles missing and invalid times', () => {
    expect(relativeTime(null, now)).toBe('never');
    expect(relativeTime('not a date', now)).toBe('—');
  });
});

describe('absoluteTime', () => {
  it('renders UTC with a Z before hydration', () => {
    expect(absoluteTime('2025-03-01T12:05:09.123Z', false)).toBe('2025-03-01 12:05:09Z');
  });
});

describe('formatSeconds', () => {
  it('uses the largest whole unit', () => {
    expect(formatSeconds(3600)).toBe('1 h');
    expect(formatSeconds(600)).toBe('10 min');
    expect(formatSeconds(90)).toBe('90 s');
    expect(formatSeconds(60)).toBe('60 s');
    expect(formatSeconds(5400)).toBe('90 min');
    expect(formatSeconds(7 * 86_400)).toBe('7 d');
    expect(formatSeconds(0)).toBe('0 s');
    expect(formatSeconds(undefined)).toBe('—');
  });
});

describe('formatDuration', () => {
  it('picks a readable unit', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(3050)).toBe('3.05 s');
    expect(formatDuration(65_000)).toBe('1m 05s');
    expect(formatDuration(3_720_000)).toBe('1h 02m');
    expect(formatDuration(null)).toBe('—');
  });
});

describe('oneLine', () => {
  it('shows the first non-empty line and marks more', () => {
    expect(oneLine('\nuname -a\ndf -h')).toBe('uname -a …');
    expect(oneLine('x'.repeat(200), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});

describe('inventory formatting', () => {
  it('formats bytes, uptime and percentages', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(16 * 1024 ** 3)).toBe('16.0 GiB');
    expect(formatBytes(null)).toBe('—');
    expect(formatUptime(93784)).toBe('1 d 2 h');
    expect(formatUptime(3700)).toBe('1 h 1 min');
    expect(percentOf(1, 4)).toBe(25);
    expect(percentOf(1, 0)).toBeNull();
  });
});

describe('softwareOutcomeText', () => {
  it('says the outcome in words, and a needed restart once', () => {
    expect(softwareOutcomeText({ outcome: 'already_installed', rebootRequired: false })).toBe('already installed');
    expect(softwareOutcomeText({ outcome: 'installed', rebootRequired: true })).toBe('installed, restart needed');
    expect(softwareOutcomeText({ outcome: 'reboot_required', rebootRequired: true })).toBe('reboot required');
    expect(softwareOutcomeText({ outcome: 'hash_mismatch', rebootRequired: false })).toBe('hash mismatch');
  });
});
