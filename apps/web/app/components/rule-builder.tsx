/**
 * The dynamic-group rule builder: a visual tree editor (ALL/ANY groups with NOT, field, software and
 * group-membership conditions), a JSON view, and a live preview through the `/groups/preview` resource
 * route. The rule is posted with the surrounding form as JSON in a hidden input (`name`, default `rule`).
 */
import { Link } from '@remix-run/react';
import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import {
  appendChild,
  emptyCondition,
  emptyGroup,
  errorsByNode,
  findField,
  listValueOps,
  nodeForPath,
  nodeLabels,
  operatorLabel,
  operatorsFor,
  parseRuleText,
  removeNode,
  ruleToTree,
  serializeTree,
  softwareMatchLabels,
  softwareMatchModes,
  updateNode,
  valuelessOps,
  versionOps,
  type ConditionNode,
  type FieldNode,
  type GroupNode,
  type MemberNode,
  type RuleCatalog,
  type RuleNode,
  type SoftwareNode,
  type StoredRule,
  type VersionOp,
} from '~/lib/rule-tree';
import { pluralize } from '~/lib/format';
import { Alert, Button, Input, Select, Textarea, cx } from './ui';

export type RuleError = { path: string; message: string };

/** What the preview resource route answers. */
export type PreviewResponse =
  | { ok: true; count: number; devices: Array<{ id: string; hostname: string; osName: string }>; evaluatedIn: number }
  | { ok: false; message: string; errors: RuleError[] };

const SOFTWARE = '@software';
const MEMBER_OF = '@memberOf';
const PREVIEW_DEBOUNCE_MS = 400;
const PREVIEW_LIMIT = 10;

type Ctx = {
  catalog: RuleCatalog;
  update: (id: string, fn: (node: RuleNode) => RuleNode) => void;
  remove: (id: string) => void;
  append: (groupId: string, node: RuleNode) => void;
  errors: Map<string, string[]>;
  hints: Map<string, string[]>;
};
const BuilderContext = createContext<Ctx | null>(null);
const useBuilder = () => {
  const ctx = useContext(BuilderContext);
  if (!ctx) throw new Error('rule builder context missing');
  return ctx;
};

type Initial = { root: GroupNode; mode: 'visual' | 'json'; jsonText: string; jsonError: string | null };

/**
 * The starting state: the rule given, or one empty condition. Ids are deterministic (SSR = hydration).
 * A stored rule the builder cannot show opens in the JSON view with the reason, never as an empty tree
 * (saving that would silently replace the rule).
 */
function initialState(rule: StoredRule | null | undefined): Initial {
  const empty: GroupNode = { id: 'n0', kind: 'group', negate: false, combinator: 'all', children: [emptyCondition('n1')] };
  if (!rule) return { root: empty, mode: 'visual', jsonText: '', jsonError: null };
  const parsed = ruleToTree(rule);
  if (parsed.ok) return { root: parsed.root, mode: 'visual', jsonText: '', jsonError: null };
  return { root: empty, mode: 'json', jsonText: JSON.stringify(rule, null, 2), jsonError: parsed.error };
}

export function RuleBuilder({
  catalog,
  initialRule,
  serverErrors,
  name = 'rule',
  previewUrl = '/groups/preview',
}: {
  catalog: RuleCatalog;
  initialRule?: StoredRule | null;
  /** Errors of the last save, with the rule (JSON text) they belong to; shown while the rule is unchanged. */
  serverErrors?: { rule: string; errors: RuleError[] } | null;
  name?: string;
  previewUrl?: string;
}) {
  const [initial] = useState(() => initialState(initialRule));
  const [root, setRoot] = useState<GroupNode>(initial.root);
  const [mode, setMode] = useState<'visual' | 'json'>(initial.mode);
  const [jsonText, setJsonText] = useState(initial.jsonText);
  const [jsonError, setJsonError] = useState<string | null>(initial.jsonError);

  const serialized = useMemo(() => serializeTree(root, catalog), [root, catalog]);
  const ruleKey = serialized.rule && !jsonError ? JSON.stringify(serialized.rule) : '';
  const preview = useRulePreview(ruleKey, previewUrl);

  const errors = useMemo(() => {
    const list: RuleError[] = [];
    if (preview.key === ruleKey && preview.result && !preview.result.ok) list.push(...preview.result.errors);
    if (serverErrors && serverErrors.rule === ruleKey) {
      for (const e of serverErrors.errors) if (!list.some((x) => x.path === e.path && x.message === e.message)) list.push(e);
    }
    return list;
  }, [preview, ruleKey, serverErrors]);
  const errorMap = useMemo(() => errorsByNode(serialized.paths, errors), [serialized.paths, errors]);
  const hintMap = useMemo(() => {
    const m = new Map<string, string[]>();
    for (const p of serialized.problems) m.set(p.nodeId, [...(m.get(p.nodeId) ?? []), p.message]);
    return m;
  }, [serialized.problems]);
  const labels = useMemo(() => nodeLabels(root), [root]);

  const ctx = useMemo<Ctx>(
    () => ({
      catalog,
      update: (id, fn) => setRoot((r) => updateNode(r, id, fn)),
      remove: (id) => setRoot((r) => removeNode(r, id)),
      append: (groupId, node) => setRoot((r) => appendChild(r, groupId, node)),
      errors: errorMap,
      hints: hintMap,
    }),
    [catalog, errorMap, hintMap],
  );

  const showJson = () => {
    setJsonText(JSON.stringify(serialized.draft, null, 2));
    setJsonError(null);
    setMode('json');
  };
  const onJsonChange = (text: string) => {
    setJsonText(text);
    const parsed = parseRuleText(text);
    if (parsed.ok) {
      setRoot(parsed.root);
      setJsonError(null);
    } else {
      setJsonError(parsed.error);
    }
  };

  return (
    <BuilderContext.Provider value={ctx}>
      <div data-testid="rule-builder" className="grid items-start gap-4 lg:grid-cols-[minmax(0,1fr)_300px]">
        <div className="min-w-0 space-y-3">
          <div className="flex items-center justify-between gap-2">
            <p className="text-xs font-medium text-zinc-700">Devices are members when they match</p>
            <div role="group" aria-label="Editor" className="inline-flex rounded-md ring-1 ring-zinc-300 ring-inset">
              <Segment pressed={mode === 'visual'} disabled={jsonError !== null} onClick={() => setMode('visual')}>
                Visual
              </Segment>
              <Segment pressed={mode === 'json'} onClick={showJson}>
                JSON
              </Segment>
            </div>
          </div>

          {mode === 'visual' ? (
            <GroupEditor node={root} isRoot />
          ) : (
            <div className="space-y-1.5">
              <Textarea
                aria-label="Rule JSON"
                value={jsonText}
                onChange={(e) => onJsonChange(e.currentTarget.value)}
                rows={Math.min(30, Math.max(8, jsonText.split('\n').length + 1))}
                spellCheck={false}
                autoCapitalize="off"
                autoCorrect="off"
                {...(jsonError ? { 'aria-invalid': true, 'aria-describedby': 'rule-json-error' } : {})}
              />
              {jsonError ? (
                <p id="rule-json-error" className="text-xs text-red-600" role="alert" data-testid="rule-json-error">
                  {jsonError}
                </p>
              ) : (
                <p className="text-xs text-zinc-500">Edits apply to the visual editor as you type.</p>
              )}
            </div>
          )}

          {errors.length > 0 ? (
            <Alert title={errors.length === 1 ? 'The rule has a problem' : `The rule has ${errors.length} problems`}>
              <ul className="list-disc space-y-0.5 pl-4" data-testid="rule-error-summary">
                {errors.map((e, i) => {
                  const where = labels.get(nodeForPath(serialized.paths, e.path) ?? root.id);
                  return (
                    <li key={`${e.path}:${i}`}>
                      {where ? <span className="font-medium">{where}: </span> : null}
                      {e.message}
                      {e.path ? <span className="ml-1 font-mono text-[11px] text-red-500">({e.path})</span> : null}
                    </li>
                  );
                })}
              </ul>
            </Alert>
          ) : null}
        </div>

        <PreviewPanel preview={preview} ruleKey={ruleKey} incomplete={!ruleKey} jsonError={jsonError !== null} />
        <input type="hidden" name={name} value={ruleKey} />
      </div>
    </BuilderContext.Provider>
  );
}

// ---- preview ---------------------------------------------------------------------------------------

type PreviewState = { key: string; loading: boolean; result: PreviewResponse | null };

/** Debounced preview of `ruleKey` (the rule as JSON text); stale answers are dropped. */
function useRulePreview(ruleKey: string, url: string): PreviewState {
  const [state, setState] = useState<PreviewState>({ key: '', loading: false, result: null });
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    if (!ruleKey) {
      setState({ key: '', loading: false, result: null });
      return;
    }
    setState((s) => ({ ...s, loading: true }));
    const controller = new AbortController();
    const timer = setTimeout(() => {
      fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ rule: JSON.parse(ruleKey) as unknown, limit: PREVIEW_LIMIT }),
        signal: controller.signal,
      })
        .then(async (res) => {
          const type = res.headers.get('content-type') ?? '';
          if (!type.includes('json'))
            throw new Error(res.status === 401 ? 'Your session has ended — sign in again.' : `Preview failed (HTTP ${res.status})`);
          return (await res.json()) as PreviewResponse;
        })
        .then((result) => {
          if (mine === seq.current) setState({ key: ruleKey, loading: false, result });
        })
        .catch((error: unknown) => {
          if (controller.signal.aborted || mine !== seq.current) return;
          setState({
            key: ruleKey,
            loading: false,
            result: { ok: false, message: error instanceof Error ? error.message : String(error), errors: [] },
          });
        });
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [ruleKey, url]);
  return state;
}

function PreviewPanel({
  preview,
  ruleKey,
  incomplete,
  jsonError,
}: {
  preview: PreviewState;
  ruleKey: string;
  incomplete: boolean;
  jsonError: boolean;
}) {
  const result = preview.result;
  const current = preview.key === ruleKey;
  const ok = result?.ok ? result : null;
  const count = !incomplete && ok ? ok.count : null;
  const stale = preview.loading || !current;
  return (
    <section
      aria-label="Preview"
      aria-live="polite"
      className="rounded-md border border-zinc-200 bg-zinc-50/60 p-3 text-[13px] lg:sticky lg:top-16"
    >
      <div className="flex items-baseline justify-between gap-2">
        <p className={cx('text-zinc-900', stale && count !== null && 'opacity-50')}>
          <span data-testid="rule-preview-count" className="text-lg font-semibold tabular-nums">
            {count === null ? '—' : count.toLocaleString('en-US')}
          </span>{' '}
          <span className="text-zinc-600">matching {count === 1 ? 'device' : 'devices'}</span>
        </p>
        {preview.loading && !incomplete ? <span className="text-xs text-zinc-500">Evaluating…</span> : null}
      </div>
      {incomplete ? (
        <p className="mt-1 text-xs text-zinc-500">
          {jsonError ? 'Fix the JSON to preview the matching devices.' : 'Complete the rule to preview the matching devices.'}
        </p>
      ) : result && !result.ok && current && !preview.loading ? (
        <p className="mt-1 text-xs text-red-700">{result.errors.length ? 'The rule is not valid; see the problems.' : result.message}</p>
      ) : ok ? (
        <>
          {ok.devices.length > 0 ? (
            <ul
              className={cx('mt-2 divide-y divide-zinc-200/70 border-t border-zinc-200', stale && 'opacity-50')}
              data-testid="rule-preview-devices"
            >
              {ok.devices.map((d) => (
                <li key={d.id} className="flex items-baseline justify-between gap-2 py-1">
                  <Link
                    to={`/devices/${d.id}`}
                    className="truncate font-medium text-zinc-900 hover:underline"
                    target="_blank"
                    rel="noreferrer"
                  >
                    {d.hostname}
                  </Link>
                  <span className="truncate text-xs text-zinc-500">{d.osName}</span>
                </li>
              ))}
            </ul>
          ) : null}
          <p className="mt-2 text-[11px] text-zinc-400 tabular-nums">
            {ok.count > ok.devices.length ? `First ${pluralize(ok.devices.length, 'match', 'matches')} shown · ` : ''}
            evaluated in {ok.evaluatedIn < 10 ? ok.evaluatedIn.toFixed(1) : Math.round(ok.evaluatedIn)} ms
          </p>
        </>
      ) : null}
    </section>
  );
}

// ---- tree editors ---------------------------------------------------------------------------------------

function Segment({
  pressed,
  disabled,
  onClick,
  children,
}: {
  pressed: boolean;
  disabled?: boolean;
  onClick: () => void;
  children: ReactNode;
}) {
  return (
    <button
      type="button"
      aria-pressed={pressed}
      disabled={disabled}
      onClick={onClick}
      className={cx(
        'h-6 px-2 text-[11px] font-semibold tracking-wide first:rounded-l-md last:rounded-r-md disabled:cursor-not-allowed disabled:opacity-50',
        pressed ? 'bg-zinc-900 text-white' : 'bg-white text-zinc-600 hover:bg-zinc-50',
      )}
    >
      {children}
    </button>
  );
}

function NodeMessages({ id }: { id: string }) {
  const { errors, hints } = useBuilder();
  const errs = errors.get(id) ?? [];
  const hs = hints.get(id) ?? [];
  if (errs.length === 0 && hs.length === 0) return null;
  return (
    <div className="mt-1 space-y-0.5 text-xs" data-testid="rule-node-messages">
      {errs.map((m, i) => (
        <p key={`e${i}`} className="text-red-600" data-testid="rule-node-error">
          {m}
        </p>
      ))}
      {hs.map((m, i) => (
        <p key={`h${i}`} className="text-amber-700">
          {m}
        </p>
      ))}
    </div>
  );
}

function GroupEditor({ node, isRoot = false, depth = 0 }: { node: GroupNode; isRoot?: boolean; depth?: number }) {
  const { update, remove, append, errors } = useBuilder();
  const invalid = (errors.get(node.id)?.length ?? 0) > 0;
  const set = (patch: Partial<GroupNode>) => update(node.id, (n) => ({ ...n, ...patch }) as RuleNode);
  return (
    <div
      role="group"
      aria-label={isRoot ? 'Rule' : 'Nested group'}
      data-testid="rule-group"
      className={cx(
        'rounded-md border p-2.5',
        depth % 2 === 0 ? 'bg-white' : 'bg-zinc-50',
        invalid ? 'border-red-300' : node.negate ? 'border-amber-300' : 'border-zinc-200',
      )}
    >
      <div className="mb-2 flex flex-wrap items-center gap-2">
        <div role="group" aria-label="Combine with" className="inline-flex rounded-md ring-1 ring-zinc-300 ring-inset">
          <Segment pressed={node.combinator === 'all'} onClick={() => set({ combinator: 'all' })}>
            ALL of
          </Segment>
          <Segment pressed={node.combinator === 'any'} onClick={() => set({ combinator: 'any' })}>
            ANY of
          </Segment>
        </div>
        <button
          type="button"
          aria-pressed={node.negate}
          onClick={() => set({ negate: !node.negate })}
          title="Negate this group"
          className={cx(
            'h-6 rounded-md px-2 text-[11px] font-semibold tracking-wide ring-1 ring-inset',
            node.negate ? 'bg-amber-100 text-amber-900 ring-amber-300' : 'bg-white text-zinc-500 ring-zinc-300 hover:bg-zinc-50',
          )}
        >
          NOT
        </button>
        <span className="text-xs text-zinc-500">
          {node.negate ? 'devices that do not match ' : 'devices matching '}
          {node.combinator === 'all' ? 'every condition below' : 'at least one condition below'}
        </span>
        {isRoot ? null : (
          <Button size="sm" variant="ghost" className="ml-auto" onClick={() => remove(node.id)} aria-label="Remove group">
            Remove group
          </Button>
        )}
      </div>
      <div className="space-y-2">
        {node.children.map((child) =>
          child.kind === 'group' ? (
            <GroupEditor key={child.id} node={child} depth={depth + 1} />
          ) : (
            <ConditionRow key={child.id} node={child} />
          ),
        )}
        {node.children.length === 0 ? <p className="text-xs text-zinc-500">No conditions yet.</p> : null}
      </div>
      <NodeMessages id={node.id} />
      <div className="mt-2 flex gap-2">
        <Button size="sm" onClick={() => append(node.id, emptyCondition())}>
          Add condition
        </Button>
        <Button size="sm" onClick={() => append(node.id, emptyGroup())}>
          Add group
        </Button>
      </div>
    </div>
  );
}

function defaultOp(catalog: RuleCatalog, key: string): string {
  const ops = operatorsFor(catalog, key);
  return ops.includes('equals') ? 'equals' : (ops[0] ?? '');
}

/** Switches a condition to another field (or to "Has software" / "Member of group"). */
function changeField(catalog: RuleCatalog, node: ConditionNode, value: string): ConditionNode {
  const base = { id: node.id, negate: node.negate };
  if (value === SOFTWARE) {
    return node.kind === 'software'
      ? node
      : { ...base, kind: 'software', name: '', match: 'equals', versionOp: '', version: '', present: true };
  }
  if (value === MEMBER_OF) return node.kind === 'member' ? node : { ...base, kind: 'member', groupId: '' };
  const field = findField(catalog, value);
  if (node.kind === 'field' && node.field) {
    const before = findField(catalog, node.field);
    const sameType = before?.type === field?.type;
    const keepOp = operatorsFor(catalog, value).includes(node.op);
    const sameValues = JSON.stringify(before?.values ?? null) === JSON.stringify(field?.values ?? null);
    return {
      ...node,
      field: value,
      op: keepOp ? node.op : defaultOp(catalog, value),
      value: sameType && keepOp && sameValues ? node.value : field?.type === 'boolean' ? 'true' : '',
    };
  }
  return {
    ...base,
    kind: 'field',
    field: value,
    op: value ? defaultOp(catalog, value) : '',
    value: field?.type === 'boolean' ? 'true' : '',
  };
}

function FieldPicker({ node }: { node: ConditionNode }) {
  const { catalog, update } = useBuilder();
  const value = node.kind === 'software' ? SOFTWARE : node.kind === 'member' ? MEMBER_OF : node.field;
  const categories = useMemo(() => {
    const out = new Map<string, RuleCatalog['fields']>();
    for (const f of catalog.fields) out.set(f.category, [...(out.get(f.category) ?? []), f]);
    return [...out.entries()];
  }, [catalog.fields]);
  const unknown = node.kind === 'field' && node.field && !findField(catalog, node.field) ? node.field : null;
  return (
    <Select
      aria-label="Field"
      value={value}
      onChange={(e) => {
        const v = e.currentTarget.value;
        update(node.id, (n) => changeField(catalog, n as ConditionNode, v));
      }}
      className="w-52 shrink-0"
    >
      <option value="">Choose a field…</option>
      {categories.map(([category, fields]) => (
        <optgroup key={category} label={category}>
          {fields.map((f) => (
            <option key={f.key} value={f.key} title={f.description}>
              {f.label}
            </option>
          ))}
        </optgroup>
      ))}
      <optgroup label="Software and groups">
        <option value={SOFTWARE}>Has software</option>
        <option value={MEMBER_OF}>Member of group</option>
      </optgroup>
      {unknown ? (
        <optgroup label="Unknown">
          <option value={unknown}>{unknown}</option>
        </optgroup>
      ) : null}
    </Select>
  );
}

function ConditionRow({ node }: { node: ConditionNode }) {
  const { update, remove, errors } = useBuilder();
  const invalid = (errors.get(node.id)?.length ?? 0) > 0;
  return (
    <div
      data-testid="rule-condition"
      data-invalid={invalid || undefined}
      className={cx('rounded-md border px-2 py-1.5', invalid ? 'border-red-300 bg-red-50/40' : 'border-transparent')}
    >
      <div className="flex items-start gap-2">
        <div className="flex min-w-0 flex-1 flex-wrap items-center gap-2">
          {node.negate && node.kind !== 'member' ? (
            <button
              type="button"
              aria-pressed
              onClick={() => update(node.id, (n) => ({ ...n, negate: false }))}
              title="This condition is negated; click to remove the NOT"
              className="h-6 rounded-md bg-amber-100 px-2 text-[11px] font-semibold text-amber-900 ring-1 ring-amber-300 ring-inset"
            >
              NOT
            </button>
          ) : null}
          <FieldPicker node={node} />
          {node.kind === 'field' ? <FieldConditionInputs node={node} invalid={invalid} /> : null}
          {node.kind === 'software' ? <SoftwareInputs node={node} invalid={invalid} /> : null}
          {node.kind === 'member' ? <MemberInputs node={node} invalid={invalid} /> : null}
        </div>
        <Button
          size="sm"
          variant="ghost"
          className="mt-0.5 text-zinc-400 hover:text-red-700"
          onClick={() => remove(node.id)}
          aria-label="Remove condition"
          title="Remove condition"
        >
          ✕
        </Button>
      </div>
      <NodeMessages id={node.id} />
    </div>
  );
}

function FieldConditionInputs({ node, invalid }: { node: FieldNode; invalid: boolean }) {
  const { catalog, update } = useBuilder();
  const field = findField(catalog, node.field);
  const type = field?.type ?? 'string';
  const ops = operatorsFor(catalog, node.field);
  const set = (patch: Partial<FieldNode>) => update(node.id, (n) => ({ ...n, ...patch }) as RuleNode);
  const aria = invalid ? { 'aria-invalid': true as const } : {};
  const datalistId = `values-${node.id}`;

  let valueInput: ReactNode = null;
  if (!node.field || !node.op || valuelessOps.has(node.op)) {
    valueInput = null;
  } else if (listValueOps.has(node.op)) {
    valueInput = (
      <Input
        aria-label="Value"
        value={node.value}
        onChange={(e) => set({ value: e.currentTarget.value })}
        placeholder={field?.values ? field.values.slice(0, 3).join(', ') : 'value, value, …'}
        title="Separate values with commas"
        className="w-64 min-w-40 flex-1"
        {...aria}
      />
    );
  } else if (type === 'boolean') {
    valueInput = (
      <Select aria-label="Value" value={node.value} onChange={(e) => set({ value: e.currentTarget.value })} className="w-28" {...aria}>
        <option value="true">true</option>
        <option value="false">false</option>
      </Select>
    );
  } else if (field?.values && (node.op === 'equals' || node.op === 'not_equals')) {
    const values = node.value && !field.values.includes(node.value) ? [...field.values, node.value] : field.values;
    valueInput = (
      <Select aria-label="Value" value={node.value} onChange={(e) => set({ value: e.currentTarget.value })} className="w-44" {...aria}>
        <option value="">Choose…</option>
        {values.map((v) => (
          <option key={v} value={v}>
            {v}
          </option>
        ))}
      </Select>
    );
  } else {
    const versionCompare = node.op.startsWith('version_');
    valueInput = (
      <>
        <Input
          aria-label="Value"
          type={type === 'number' && !versionCompare ? 'number' : type === 'date' ? 'date' : 'text'}
          step={type === 'number' ? 'any' : undefined}
          value={node.value}
          onChange={(e) => set({ value: e.currentTarget.value })}
          placeholder={versionCompare ? 'e.g. 10.0.19045' : node.op === 'regex' ? 'regular expression (RE2)' : undefined}
          list={field?.values ? datalistId : undefined}
          spellCheck={false}
          className="w-56 min-w-32 flex-1"
          {...aria}
        />
        {field?.values ? (
          <datalist id={datalistId}>
            {field.values.map((v) => (
              <option key={v} value={v} />
            ))}
          </datalist>
        ) : null}
      </>
    );
  }

  return (
    <>
      <Select
        aria-label="Operator"
        value={node.op}
        disabled={!node.field}
        onChange={(e) => {
          const op = e.currentTarget.value;
          // Leaving or entering a list operator keeps the text; leaving a select-only value resets it.
          set({ op, ...(valuelessOps.has(op) ? { value: '' } : {}) });
        }}
        className="w-44 shrink-0"
      >
        {!node.field ? <option value="">Operator</option> : null}
        {ops.map((op) => (
          <option key={op} value={op}>
            {operatorLabel(op, type)}
          </option>
        ))}
        {node.op && !ops.includes(node.op) ? <option value={node.op}>{node.op} (not allowed)</option> : null}
      </Select>
      {valueInput}
    </>
  );
}

function SoftwareInputs({ node, invalid }: { node: SoftwareNode; invalid: boolean }) {
  const { update } = useBuilder();
  const set = (patch: Partial<SoftwareNode>) => update(node.id, (n) => ({ ...n, ...patch }) as RuleNode);
  const aria = invalid ? { 'aria-invalid': true as const } : {};
  return (
    <>
      <Select
        aria-label="Operator"
        value={node.present ? 'present' : 'absent'}
        onChange={(e) => set({ present: e.currentTarget.value === 'present' })}
        className="w-36"
      >
        <option value="present">has</option>
        <option value="absent">does not have</option>
      </Select>
      <Select
        aria-label="Match"
        value={node.match}
        onChange={(e) => set({ match: e.currentTarget.value as SoftwareNode['match'] })}
        className="w-44"
      >
        {softwareMatchModes.map((m) => (
          <option key={m} value={m}>
            {softwareMatchLabels[m]}
          </option>
        ))}
      </Select>
      <Input
        aria-label="Software name"
        value={node.name}
        onChange={(e) => set({ name: e.currentTarget.value })}
        placeholder="e.g. openssl"
        spellCheck={false}
        className="w-48 min-w-32 flex-1"
        {...aria}
      />
      <Select
        aria-label="Version comparison"
        value={node.versionOp}
        onChange={(e) => set({ versionOp: e.currentTarget.value as VersionOp | '' })}
        className="w-36"
      >
        <option value="">any version</option>
        {versionOps.map((op) => (
          <option key={op} value={op}>
            {operatorLabel(op)}
          </option>
        ))}
      </Select>
      {node.versionOp ? (
        <Input
          aria-label="Version"
          value={node.version}
          onChange={(e) => set({ version: e.currentTarget.value })}
          placeholder="e.g. 3.0.13"
          spellCheck={false}
          className="w-28"
          {...aria}
        />
      ) : null}
    </>
  );
}

function MemberInputs({ node, invalid }: { node: MemberNode; invalid: boolean }) {
  const { catalog, update } = useBuilder();
  const set = (patch: Partial<MemberNode>) => update(node.id, (n) => ({ ...n, ...patch }) as RuleNode);
  const known = catalog.groups.some((g) => g.id === node.groupId);
  return (
    <>
      <Select
        aria-label="Operator"
        value={node.negate ? 'not_member' : 'member'}
        onChange={(e) => set({ negate: e.currentTarget.value === 'not_member' })}
        className="w-44"
      >
        <option value="member">is a member of</option>
        <option value="not_member">is not a member of</option>
      </Select>
      <Select
        aria-label="Group"
        value={node.groupId}
        onChange={(e) => set({ groupId: e.currentTarget.value })}
        className="w-56"
        {...(invalid ? { 'aria-invalid': true as const } : {})}
      >
        <option value="">Choose a group…</option>
        {catalog.groups.map((g) => (
          <option key={g.id} value={g.id}>
            {g.name} ({g.kind})
          </option>
        ))}
        {node.groupId && !known ? <option value={node.groupId}>Unknown group {node.groupId.slice(0, 8)}</option> : null}
      </Select>
    </>
  );
}
