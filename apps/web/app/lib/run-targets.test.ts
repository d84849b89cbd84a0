import { describe, expect, it } from 'vitest';
import type { JobRunTarget } from '@opsconductor/contracts/api';
import { firstView, isFirstView, pageRange, targetsPageUrl, updateRow } from './run-targets';

const target = (deviceId: string, status: JobRunTarget['status'] = 'pending'): JobRunTarget => ({
  deviceId,
  hostname: `host-${deviceId}`,
  status,
  exitCode: null,
  errorMessage: null,
  startedAt: null,
  finishedAt: null,
  durationMs: null,
  stdoutTruncated: false,
  stderrTruncated: false,
  currentStep: null,
  software: null,
});

describe('a large run’s Devices table', () => {
  it('reads the page of a view through the resource route', () => {
    expect(targetsPageUrl('r1', firstView)).toBe('/runs/r1/targets');
    expect(targetsPageUrl('r1', { status: 'failed', search: ' db_1 ', trail: ['c1', 'c2'] })).toBe(
      '/runs/r1/targets?status=failed&search=db_1&after=c2',
    );
    expect(isFirstView(firstView)).toBe(true);
    expect(isFirstView({ ...firstView, trail: ['c1'] })).toBe(false);
    expect(isFirstView({ ...firstView, search: 'x' })).toBe(false);
  });

  it('changes a row on the page in place and leaves targets of other pages out', () => {
    const items = [target('a'), target('b')];
    expect(updateRow(items, target('b', 'failed')).map((t) => t.status)).toEqual(['pending', 'failed']);
    expect(updateRow(items, target('z', 'failed'))).toBe(items);
  });

  it('says which rows of how many it shows', () => {
    expect(pageRange({ view: firstView, items: [target('a'), target('b')], total: 2 })).toBe('1–2 of 2');
    expect(
      pageRange({
        view: { ...firstView, trail: ['c1', 'c2'] },
        items: Array.from({ length: 100 }, (_, i) => target(String(i))),
        total: 1234,
      }),
    ).toBe('201–300 of 1,234');
    expect(pageRange({ view: firstView, items: [], total: 0 })).toBe('0 of 0');
  });
});
