import { describe, expect, it } from 'vitest';
import {
  detection,
  detectionRule,
  linuxPackageManagers as contractManagers,
  MSI_GUID_PATTERN,
  PACKAGE_MANAGER_NAME_PATTERN,
  registryHives as contractHives,
  registryViews as contractViews,
  serviceStates as contractStates,
  VERSION_PATTERN,
  versionComparisons,
} from '@opsconductor/contracts/software';
import { scriptInterpreters } from '@opsconductor/contracts/constants';
import { describeRule } from '@opsconductor/software';
import {
  appendDetectionChild,
  detectionInterpreters,
  detectionLines,
  detectionNodeForPath,
  detectionRuleTypes,
  detectionToTree,
  emptyDetectionGroup,
  emptyLeaf,
  linuxPackageManagers,
  MSI_GUID,
  normalizeDetectionPath,
  PACKAGE_NAME,
  patchRule,
  registryHives,
  registryViews,
  removeDetectionNode,
  serializeDetection,
  serviceStates,
  suggestedDetectionRule,
  VERSION,
  versionComparisonOps,
  type DetectionGroup,
} from './detection-tree';

const GUID = '{12345678-ABCD-4EF0-9123-456789ABCDEF}';

describe('the option lists and patterns repeated for the browser', () => {
  it('equal the contracts', () => {
    expect(MSI_GUID.source).toBe(MSI_GUID_PATTERN.source);
    expect(VERSION.source).toBe(VERSION_PATTERN.source);
    expect(PACKAGE_NAME.source).toBe(PACKAGE_MANAGER_NAME_PATTERN.source);
    expect([...versionComparisonOps]).toEqual([...versionComparisons]);
    expect([...registryHives]).toEqual([...contractHives]);
    expect([...registryViews]).toEqual([...contractViews]);
    expect([...serviceStates]).toEqual([...contractStates]);
    expect([...linuxPackageManagers]).toEqual([...contractManagers]);
    expect([...detectionInterpreters]).toEqual([...scriptInterpreters]);
    expect([...detectionRuleTypes].sort()).toEqual(detectionRule.options.map((o) => o.shape.type.value).sort());
  });
});

describe('serializeDetection', () => {
  it('is no detection for an empty root, without problems', () => {
    const s = serializeDetection(emptyDetectionGroup('root'));
    expect(s).toMatchObject({ detection: null, empty: true, problems: [] });
  });

  it('builds nested AND/OR groups the contracts accept, with every node at its path', () => {
    let root: DetectionGroup = emptyDetectionGroup('root');
    root = appendDetectionChild(root, 'root', emptyLeaf('msi_product_code', 'a'));
    root = patchRule(root, 'a', { productCode: GUID, versions: [{ op: 'gte', value: '2.0' }] });
    root = appendDetectionChild(root, 'root', { id: 'g', kind: 'group', combinator: 'all', children: [] });
    root = appendDetectionChild(root, 'g', emptyLeaf('registry', 'b'));
    root = patchRule(root, 'b', {
      key: 'SOFTWARE\\Vendor\\App',
      valueName: 'Version',
      registryCheck: 'version',
      versions: [{ op: 'lt', value: '3' }],
    });
    root = appendDetectionChild(root, 'g', emptyLeaf('linux_package', 'c'));
    root = patchRule(root, 'c', { packageName: 'nginx', versions: [{ op: 'eq', value: '' }] });
    const s = serializeDetection(root);
    expect(s.problems).toEqual([]);
    expect(s.detection).toEqual({
      any: [
        { type: 'msi_product_code', productCode: GUID, version: [{ op: 'gte', value: '2.0' }] },
        {
          all: [
            {
              type: 'registry',
              hive: 'HKLM',
              key: 'SOFTWARE\\Vendor\\App',
              view: '64',
              check: 'version',
              valueName: 'Version',
              version: [{ op: 'lt', value: '3' }],
            },
            { type: 'linux_package', manager: 'dpkg', name: 'nginx' },
          ],
        },
      ],
    });
    expect(detection.safeParse(s.detection).success).toBe(true);
    expect(s.paths.get('any.1.all.0')).toBe('b');
    expect(detectionNodeForPath(s.paths, 'body.detection.any[1].all[0].key')).toBe('b');
    expect(detectionNodeForPath(s.paths, '/detection/any/0/productCode')).toBe('a');
    expect(detectionNodeForPath(s.paths, 'detection')).toBe('root');
  });

  it('reports what a rule is missing at its node, and then sends nothing', () => {
    let root: DetectionGroup = emptyDetectionGroup('root', [
      emptyLeaf('msi_product_code', 'a'),
      emptyLeaf('file', 'b'),
      emptyLeaf('script', 'c'),
    ]);
    root = patchRule(root, 'a', { productCode: 'not-a-guid' });
    root = patchRule(root, 'b', { path: 'C:\\app.exe', fileCheck: 'version' });
    root = patchRule(root, 'c', { script: 'exit 0', timeoutSeconds: '0' });
    root = appendDetectionChild(root, 'root', emptyDetectionGroup('g'));
    const s = serializeDetection(root);
    expect(s.detection).toBeNull();
    expect(s.problems.map((p) => p.nodeId)).toEqual(['a', 'b', 'c', 'g']);
    expect(s.problems[1]!.message).toMatch(/version/);
  });

  it('keeps the limits of the contracts: depth and number of rules', () => {
    const deep = (n: number): DetectionGroup =>
      n === 0 ? emptyDetectionGroup(`g${n}`, [emptyLeaf('service', `s${n}`)]) : emptyDetectionGroup(`g${n}`, [deep(n - 1)]);
    let root = deep(4);
    for (let i = 0; i <= 4; i += 1) root = patchRule(root, `s${i}`, { serviceName: 'svc' });
    expect(serializeDetection(root).problems.map((p) => p.message)).toContain('Groups nest at most 4 levels deep');
    let wide = emptyDetectionGroup(
      'root',
      Array.from({ length: 33 }, (_, i) => emptyLeaf('service', `s${i}`)),
    );
    for (let i = 0; i < 33; i += 1) wide = patchRule(wide, `s${i}`, { serviceName: 'svc' });
    expect(serializeDetection(wide).problems.map((p) => p.message)).toEqual(['At most 32 rules']);
  });
});

describe('detectionToTree', () => {
  it('reads what serializeDetection writes back to the same detection', () => {
    const stored = {
      all: [
        { type: 'file', path: '%ProgramFiles%\\App\\app.exe', check: 'sha256', sha256: 'a'.repeat(64) },
        {
          any: [
            { type: 'service', name: 'AppSvc', state: 'running' },
            { type: 'script', interpreter: 'sh', script: 'true', timeoutSeconds: 30 },
          ],
        },
        {
          type: 'msi_upgrade_code',
          upgradeCode: GUID,
          version: [
            { op: 'gte', value: '1.0' },
            { op: 'lt', value: '2.0' },
          ],
        },
      ],
    };
    const parsed = detectionToTree(stored);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(serializeDetection(parsed.root).detection).toEqual(stored);
  });

  it('wraps a lone rule in a group, reads null as no rules, refuses an unknown type', () => {
    const lone = detectionToTree({ type: 'service', name: 'x', state: 'exists' });
    expect(lone.ok && lone.root.children.length).toBe(1);
    const none = detectionToTree(null);
    expect(none.ok && none.root.children).toEqual([]);
    expect(detectionToTree({ all: [{ type: 'wmi' }] })).toEqual({ ok: false, error: 'Unknown rule type "wmi" at all.0' });
  });
});

describe('tree edits', () => {
  it('removes nested nodes and leaves untouched subtrees as they were', () => {
    const inner = emptyDetectionGroup('g', [emptyLeaf('service', 'x')]);
    const root = emptyDetectionGroup('root', [emptyLeaf('service', 'a'), inner]);
    const removed = removeDetectionNode(root, 'x');
    expect((removed.children[1] as DetectionGroup).children).toEqual([]);
    expect(removed.children[0]).toBe(root.children[0]);
    expect(removeDetectionNode(root, 'nope')).toBe(root);
  });
});

describe('readable lines and suggestions', () => {
  it('words each rule with packages/software and keeps the groups', () => {
    const lines = detectionLines(
      {
        any: [
          { type: 'msi_product_code', productCode: GUID },
          { type: 'linux_package', manager: 'rpm', name: 'nginx', version: [{ op: 'gte', value: '1.2' }] },
        ],
      },
      describeRule,
    );
    expect(lines).toEqual({
      kind: 'group',
      combinator: 'any',
      children: [
        { kind: 'rule', text: `MSI product ${GUID}` },
        { kind: 'rule', text: expect.stringContaining('rpm package nginx') },
      ],
    });
  });

  it('suggests the MSI product code, or the deb/rpm package at its version', () => {
    expect(suggestedDetectionRule({ format: 'msi', productCode: GUID })).toMatchObject({ type: 'msi_product_code', productCode: GUID });
    expect(suggestedDetectionRule({ format: 'deb', packageName: 'hello', version: '2.10-3' })).toMatchObject({
      type: 'linux_package',
      manager: 'dpkg',
      packageName: 'hello',
      versions: [{ op: 'eq', value: '2.10-3' }],
    });
    expect(suggestedDetectionRule({ format: 'rpm', packageName: 'hello' })).toMatchObject({ manager: 'rpm', versions: [] });
    expect(suggestedDetectionRule({ format: 'exe' })).toBeNull();
  });

  it('normalizes the paths the API reports', () => {
    expect(normalizeDetectionPath('body.detection.all[0].productCode')).toBe('all.0.productCode');
    expect(normalizeDetectionPath('detection')).toBe('');
  });
});
