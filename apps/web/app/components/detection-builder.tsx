/**
 * The detection rule builder: how the agent tells a version is installed — ANY/ALL groups of MSI product or upgrade
 * codes, registry values, files, services, Linux packages and scripts, each with its own fields. The tree is the
 * caller's state (the version editor adds the rule an uploaded installer suggests); the detection goes with the
 * surrounding form as JSON in a hidden input. The same approach as the group rule builder (rule-builder.tsx).
 */
import { useMemo, type ReactNode } from 'react';
import {
  appendDetectionChild,
  detectionInterpreters,
  detectionNodeForPath,
  detectionRuleTypeLabels,
  detectionRuleTypes,
  emptyDetectionGroup,
  emptyLeaf,
  fileChecks,
  linuxPackageManagers,
  MAX_VERSION_ROWS,
  patchRule,
  registryChecks,
  registryHives,
  registryViews,
  removeDetectionNode,
  serializeDetection,
  serviceStates,
  takesVersions,
  updateDetectionNode,
  versionComparisonLabels,
  versionComparisonOps,
  versionsRequired,
  type DetectionGroup,
  type DetectionLeaf,
  type DetectionRuleType,
  type RuleDraft,
  type VersionRow,
} from '~/lib/detection-tree';
import { Alert, Button, Input, Select, Textarea, cx } from './ui';

export type DetectionError = { path: string; message: string };

const checkLabels: Record<string, string> = {
  exists: 'exists',
  not_exists: 'does not exist',
  equals: 'data equals',
  version: 'version compares',
  sha256: 'SHA-256 equals',
  running: 'is running',
  stopped: 'is stopped',
};

export function DetectionBuilder({
  root,
  onChange,
  serverErrors = [],
  name = 'detection',
}: {
  root: DetectionGroup;
  onChange: (update: (root: DetectionGroup) => DetectionGroup) => void;
  /** The API's issues of the last save (paths such as `detection.any.0.productCode`). */
  serverErrors?: DetectionError[];
  name?: string;
}) {
  const serialized = useMemo(() => serializeDetection(root), [root]);
  const messages = useMemo(() => {
    const m = new Map<string, { errors: string[]; hints: string[] }>();
    const at = (id: string) => m.get(id) ?? m.set(id, { errors: [], hints: [] }).get(id)!;
    for (const p of serialized.problems) at(p.nodeId).hints.push(p.message);
    for (const e of serverErrors) at(detectionNodeForPath(serialized.paths, e.path) ?? root.id).errors.push(e.message);
    return m;
  }, [serialized, serverErrors, root.id]);
  const value = serialized.detection ? JSON.stringify(serialized.detection) : '';
  const ctx: Ctx = { onChange, messages };
  return (
    <div data-testid="detection-builder" className="space-y-2">
      {root.children.length === 0 ? (
        <div className="flex flex-wrap items-center gap-2 rounded-md border border-dashed border-zinc-300 px-3 py-3 text-[13px] text-zinc-500">
          <span>No detection rules: the installer&apos;s exit code alone says whether it worked.</span>
          <Button size="sm" onClick={() => onChange((r) => appendDetectionChild(r, r.id, emptyLeaf()))}>
            Add rule
          </Button>
        </div>
      ) : (
        <GroupEditor node={root} ctx={ctx} depth={0} />
      )}
      {serialized.problems.length > 0 ? (
        <p className="text-xs text-amber-700" data-testid="detection-incomplete">
          Complete the highlighted rules: an incomplete detection is not saved.
        </p>
      ) : null}
      {serverErrors.length > 0 ? (
        <Alert title="The detection rules have problems">
          <ul className="list-disc pl-4">
            {serverErrors.map((e, i) => (
              <li key={i}>
                {e.message} <span className="font-mono text-[11px]">({e.path})</span>
              </li>
            ))}
          </ul>
        </Alert>
      ) : null}
      <input type="hidden" name={name} value={value} data-testid="detection-json" />
      {/* Posted so the action can tell "no rules" from "rules left incomplete". */}
      <input type="hidden" name={`${name}Incomplete`} value={serialized.problems.length > 0 ? '1' : ''} />
      {/* The tree as it is, complete or not: a refused save shows it again as it was. */}
      <input type="hidden" name={`${name}Draft`} value={serialized.draft === null ? '' : JSON.stringify(serialized.draft)} />
    </div>
  );
}

type Ctx = {
  onChange: (update: (root: DetectionGroup) => DetectionGroup) => void;
  messages: Map<string, { errors: string[]; hints: string[] }>;
};

function Messages({ id, ctx }: { id: string; ctx: Ctx }) {
  const m = ctx.messages.get(id);
  if (!m || (m.errors.length === 0 && m.hints.length === 0)) return null;
  return (
    <div className="mt-1 space-y-0.5 text-xs" data-testid="detection-messages">
      {m.errors.map((e, i) => (
        <p key={`e${i}`} className="text-red-600">
          {e}
        </p>
      ))}
      {m.hints.map((h, i) => (
        <p key={`h${i}`} className="text-amber-700">
          {h}
        </p>
      ))}
    </div>
  );
}

function Segment({ pressed, onClick, children }: { pressed: boolean; onClick: () => void; children: ReactNode }) {
  return (
    <button
      type="button"
      aria-pressed={pressed}
      onClick={onClick}
      className={cx(
        'h-6 px-2 text-[11px] font-semibold tracking-wide first:rounded-l-md last:rounded-r-md',
        pressed ? 'bg-zinc-900 text-white' : 'bg-white text-zinc-600 hover:bg-zinc-50',
      )}
    >
      {children}
    </button>
  );
}

function GroupEditor({ node, ctx, depth }: { node: DetectionGroup; ctx: Ctx; depth: number }) {
  const set = (combinator: 'all' | 'any') =>
    ctx.onChange((r) => updateDetectionNode(r, node.id, (n) => ({ ...n, combinator }) as DetectionGroup));
  return (
    <div
      role="group"
      aria-label={depth === 0 ? 'Detection rules' : 'Nested group'}
      data-testid="detection-group-editor"
      className={cx('rounded-md border border-zinc-200 p-2.5', depth % 2 === 0 ? 'bg-white' : 'bg-zinc-50')}
    >
      <div className="mb-2 flex flex-wrap items-center gap-2">
        <div role="group" aria-label="Combine with" className="inline-flex rounded-md ring-1 ring-zinc-300 ring-inset">
          <Segment pressed={node.combinator === 'any'} onClick={() => set('any')}>
            ANY of
          </Segment>
          <Segment pressed={node.combinator === 'all'} onClick={() => set('all')}>
            ALL of
          </Segment>
        </div>
        <span className="text-xs text-zinc-500">
          installed when {node.combinator === 'all' ? 'every rule below holds' : 'at least one rule below holds'}
        </span>
        {depth === 0 ? null : (
          <Button size="sm" variant="ghost" className="ml-auto" onClick={() => ctx.onChange((r) => removeDetectionNode(r, node.id))}>
            Remove group
          </Button>
        )}
      </div>
      <div className="space-y-2">
        {node.children.map((c) =>
          c.kind === 'group' ? <GroupEditor key={c.id} node={c} ctx={ctx} depth={depth + 1} /> : <RuleRow key={c.id} node={c} ctx={ctx} />,
        )}
        {node.children.length === 0 ? <p className="text-xs text-zinc-500">No rules yet.</p> : null}
      </div>
      <Messages id={node.id} ctx={ctx} />
      <div className="mt-2 flex gap-2">
        <Button size="sm" onClick={() => ctx.onChange((r) => appendDetectionChild(r, node.id, emptyLeaf()))}>
          Add rule
        </Button>
        <Button
          size="sm"
          onClick={() => ctx.onChange((r) => appendDetectionChild(r, node.id, emptyDetectionGroup(undefined, [emptyLeaf()])))}
        >
          Add group
        </Button>
      </div>
    </div>
  );
}

function RuleRow({ node, ctx }: { node: DetectionLeaf; ctx: Ctx }) {
  const r = node.rule;
  const set = (patch: Partial<RuleDraft>) => ctx.onChange((root) => patchRule(root, node.id, patch));
  const invalid = (ctx.messages.get(node.id)?.errors.length ?? 0) > 0;
  const aria = invalid ? { 'aria-invalid': true as const } : {};
  let fields: ReactNode = null;
  switch (r.type) {
    case 'msi_product_code':
      fields = (
        <Input
          aria-label="Product code"
          value={r.productCode}
          onChange={(e) => set({ productCode: e.currentTarget.value })}
          placeholder="{12345678-ABCD-…}"
          spellCheck={false}
          className="w-80 font-mono text-xs"
          {...aria}
        />
      );
      break;
    case 'msi_upgrade_code':
      fields = (
        <Input
          aria-label="Upgrade code"
          value={r.upgradeCode}
          onChange={(e) => set({ upgradeCode: e.currentTarget.value })}
          placeholder="{12345678-ABCD-…}"
          spellCheck={false}
          className="w-80 font-mono text-xs"
          {...aria}
        />
      );
      break;
    case 'registry':
      fields = (
        <>
          <Select
            aria-label="Hive"
            value={r.hive}
            onChange={(e) => set({ hive: e.currentTarget.value as RuleDraft['hive'] })}
            className="w-24"
          >
            {registryHives.map((h) => (
              <option key={h}>{h}</option>
            ))}
          </Select>
          <Input
            aria-label="Key"
            value={r.key}
            onChange={(e) => set({ key: e.currentTarget.value })}
            placeholder="SOFTWARE\Vendor\App"
            spellCheck={false}
            className="w-64"
            {...aria}
          />
          <Input
            aria-label="Value name"
            value={r.valueName}
            onChange={(e) => set({ valueName: e.currentTarget.value })}
            placeholder="value (optional)"
            className="w-36"
          />
          <Select
            aria-label="Registry view"
            value={r.view}
            onChange={(e) => set({ view: e.currentTarget.value as RuleDraft['view'] })}
            className="w-24"
          >
            {registryViews.map((v) => (
              <option key={v} value={v}>
                {v}-bit
              </option>
            ))}
          </Select>
          <Select
            aria-label="Check"
            value={r.registryCheck}
            onChange={(e) => set({ registryCheck: e.currentTarget.value as RuleDraft['registryCheck'] })}
            className="w-40"
          >
            {registryChecks.map((c) => (
              <option key={c} value={c}>
                {checkLabels[c]}
              </option>
            ))}
          </Select>
          {r.registryCheck === 'equals' ? (
            <Input aria-label="Data" value={r.value} onChange={(e) => set({ value: e.currentTarget.value })} className="w-40" />
          ) : null}
        </>
      );
      break;
    case 'file':
      fields = (
        <>
          <Input
            aria-label="Path"
            value={r.path}
            onChange={(e) => set({ path: e.currentTarget.value })}
            placeholder="%ProgramFiles%\Vendor\app.exe"
            spellCheck={false}
            className="w-80"
            {...aria}
          />
          <Select
            aria-label="Check"
            value={r.fileCheck}
            onChange={(e) => set({ fileCheck: e.currentTarget.value as RuleDraft['fileCheck'] })}
            className="w-40"
          >
            {fileChecks.map((c) => (
              <option key={c} value={c}>
                {checkLabels[c]}
              </option>
            ))}
          </Select>
          {r.fileCheck === 'sha256' ? (
            <Input
              aria-label="SHA-256"
              value={r.sha256}
              onChange={(e) => set({ sha256: e.currentTarget.value })}
              className="w-96 font-mono text-xs"
            />
          ) : null}
        </>
      );
      break;
    case 'service':
      fields = (
        <>
          <Input
            aria-label="Service name"
            value={r.serviceName}
            onChange={(e) => set({ serviceName: e.currentTarget.value })}
            className="w-56"
            {...aria}
          />
          <Select
            aria-label="State"
            value={r.state}
            onChange={(e) => set({ state: e.currentTarget.value as RuleDraft['state'] })}
            className="w-36"
          >
            {serviceStates.map((s) => (
              <option key={s} value={s}>
                {checkLabels[s]}
              </option>
            ))}
          </Select>
        </>
      );
      break;
    case 'linux_package':
      fields = (
        <>
          <Select
            aria-label="Package manager"
            value={r.manager}
            onChange={(e) => set({ manager: e.currentTarget.value as RuleDraft['manager'] })}
            className="w-28"
          >
            {linuxPackageManagers.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </Select>
          <Input
            aria-label="Package name"
            value={r.packageName}
            onChange={(e) => set({ packageName: e.currentTarget.value })}
            placeholder="nginx"
            spellCheck={false}
            className="w-48"
            {...aria}
          />
        </>
      );
      break;
    case 'script':
      fields = (
        <>
          <Select
            aria-label="Interpreter"
            value={r.interpreter}
            onChange={(e) => set({ interpreter: e.currentTarget.value as RuleDraft['interpreter'] })}
            className="w-32"
          >
            {detectionInterpreters.map((i) => (
              <option key={i}>{i}</option>
            ))}
          </Select>
          <label className="flex items-center gap-1 text-xs text-zinc-600">
            timeout
            <Input
              aria-label="Timeout in seconds"
              value={r.timeoutSeconds}
              onChange={(e) => set({ timeoutSeconds: e.currentTarget.value })}
              inputMode="numeric"
              className="w-16"
            />
            s
          </label>
          <Textarea
            aria-label="Script"
            value={r.script}
            onChange={(e) => set({ script: e.currentTarget.value })}
            rows={3}
            placeholder="exit 0 when installed"
            className="basis-full"
            {...aria}
          />
        </>
      );
      break;
  }
  return (
    <div
      data-testid="detection-rule-editor"
      className={cx('rounded-md border px-2 py-1.5', invalid ? 'border-red-300 bg-red-50/40' : 'border-transparent')}
    >
      <div className="flex items-start gap-2">
        <div className="flex min-w-0 flex-1 flex-wrap items-center gap-2">
          <Select
            aria-label="Rule type"
            value={r.type}
            onChange={(e) => set({ type: e.currentTarget.value as DetectionRuleType })}
            className="w-44 shrink-0"
          >
            {detectionRuleTypes.map((t) => (
              <option key={t} value={t}>
                {detectionRuleTypeLabels[t]}
              </option>
            ))}
          </Select>
          {fields}
          {takesVersions(r) ? <VersionRows rule={r} onChange={(versions) => set({ versions })} /> : null}
        </div>
        <Button
          size="sm"
          variant="ghost"
          className="mt-0.5 text-zinc-400 hover:text-red-700"
          onClick={() => ctx.onChange((root) => removeDetectionNode(root, node.id))}
          aria-label="Remove rule"
          title="Remove rule"
        >
          ✕
        </Button>
      </div>
      <Messages id={node.id} ctx={ctx} />
    </div>
  );
}

function VersionRows({ rule, onChange }: { rule: RuleDraft; onChange: (rows: VersionRow[]) => void }) {
  const rows = rule.versions.length ? rule.versions : versionsRequired(rule) ? [{ op: 'gte' as const, value: '' }] : [];
  const setRow = (i: number, patch: Partial<VersionRow>) => onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <span className="flex flex-wrap items-center gap-1.5" data-testid="detection-versions">
      {rows.length === 0 ? <span className="text-xs text-zinc-500">any version</span> : null}
      {rows.map((row, i) => (
        <span key={i} className="flex items-center gap-1">
          {i > 0 ? <span className="text-xs text-zinc-500">and</span> : null}
          <Select
            aria-label="Version comparison"
            value={row.op}
            onChange={(e) => setRow(i, { op: e.currentTarget.value as VersionRow['op'] })}
            className="w-16"
          >
            {versionComparisonOps.map((op) => (
              <option key={op} value={op}>
                {versionComparisonLabels[op]}
              </option>
            ))}
          </Select>
          <Input
            aria-label="Version"
            value={row.value}
            onChange={(e) => setRow(i, { value: e.currentTarget.value })}
            placeholder="1.2.3"
            spellCheck={false}
            className="w-24"
          />
          {rows.length > (versionsRequired(rule) ? 1 : 0) ? (
            <button
              type="button"
              className="text-xs text-zinc-400 hover:text-red-700"
              aria-label="Remove version comparison"
              onClick={() => onChange(rows.filter((_, j) => j !== i))}
            >
              ✕
            </button>
          ) : null}
        </span>
      ))}
      {rows.length < MAX_VERSION_ROWS ? (
        <button
          type="button"
          className="text-xs font-medium text-zinc-600 underline"
          onClick={() => onChange([...rows, { op: rows.length ? 'lt' : 'gte', value: '' }])}
        >
          {rows.length ? 'and…' : 'at version…'}
        </button>
      ) : null}
    </span>
  );
}
