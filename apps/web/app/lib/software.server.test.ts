import { describe, expect, it } from 'vitest';
import { commandDefaults, describeDetection } from './software.server';

describe('commandDefaults', () => {
  it('gives every installer type the server’s defaults, or none where there is no safe one', () => {
    const d = commandDefaults();
    expect(d.msi.install).toBe('msiexec /i {installer} /qn /norestart /l*v {log}');
    expect(d.msi.rebootExitCodes).toEqual([3010, 1641]);
    expect(d.archive.install).toBeNull();
    expect(d.exe.install).toBeNull();
    expect(d.dnf.uninstall).toBe('dnf remove -y {packageName}');
  });

  it('words a stored detection', () => {
    expect(describeDetection(null)).toBeNull();
    expect(describeDetection({ type: 'service', name: 'AppSvc', state: 'running' })).toEqual({
      kind: 'rule',
      text: 'service AppSvc running',
    });
  });
});
