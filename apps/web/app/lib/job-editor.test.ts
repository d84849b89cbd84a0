import { describe, expect, it } from 'vitest';
import {
  addParameter,
  addStep,
  changeParameterType,
  definitionFromState,
  emptyEditorState,
  enumValues,
  issueKey,
  issuesByKey,
  keyLocation,
  moveItem,
  normalizeIssuePath,
  parseDefinitionText,
  stateFromDefinition,
  updateItem,
  type EditorState,
  type JobDefinitionDraft,
} from './job-editor';

const retries = { count: 0, backoffSeconds: 10 };
const common = { timeoutSeconds: 3600, retries, continueOnError: false, condition: 'on_success' as const };

/** A definition as the API stores and exports it: every default filled in, every parameter type and step kind. */
const stored: JobDefinitionDraft = {
  schemaVersion: 1,
  name: 'Everything',
  description: 'All the kinds',
  parameters: [
    { name: 'who', label: 'Who', description: 'A name', type: 'string', required: true, default: 'world' },
    { name: 'days', type: 'number', required: false, default: 7, integer: true, min: 1, max: 365 },
    { name: 'ratio', type: 'number', required: false, integer: false },
    { name: 'force', type: 'boolean', required: false, default: false },
    { name: 'ring', type: 'enum', required: false, values: ['pilot', 'broad'], default: 'pilot' },
    { name: 'token', type: 'secret', required: true },
    { name: 'host', type: 'device', field: 'hostname' },
  ],
  steps: [
    { ...common, name: 'sh', kind: 'shell', command: 'echo {{ who }}' },
    { ...common, name: 'ps', kind: 'powershell', command: 'Write-Output {{ who }}', condition: 'always' },
    { ...common, name: 'cmd', kind: 'cmd', command: 'echo {{ who }}', continueOnError: true },
    { ...common, name: 'py', kind: 'script', interpreter: 'python', body: 'import os\nprint(os.environ["OC_PARAM_WHO"])\n' },
    {
      ...common,
      name: 'copy',
      kind: 'file_copy',
      fileSha256: 'a'.repeat(64),
      path: '/etc/{{ ring }}.conf',
      mode: '0644',
      owner: 'root:root',
    },
    { ...common, name: 'copy-bare', kind: 'file_copy', fileSha256: 'b'.repeat(64), path: '/tmp/x' },
    { ...common, name: 'reboot', kind: 'reboot', timeoutSeconds: 900, retries: { count: 2, backoffSeconds: 30 } },
    { ...common, name: 'wait', kind: 'wait', seconds: 30, condition: 'on_failure' },
  ],
  chains: { onSuccess: 'Next', onFailure: 'Cleanup' },
};

function stateOf(definition: unknown): EditorState {
  const r = stateFromDefinition(definition);
  if (!r.ok) throw new Error(r.error);
  return r.state;
}

describe('definition ↔ editor state', () => {
  it('gives back a stored definition unchanged (an untouched save creates no version)', () => {
    expect(definitionFromState(stateOf(stored))).toStrictEqual(stored);
    expect(definitionFromState(stateOf(JSON.parse(JSON.stringify(stored))))).toStrictEqual(stored);
  });

  it('fills in the defaults of a definition written by hand', () => {
    const state = stateOf({
      name: 'Short',
      steps: [{ name: 'one', kind: 'shell', command: 'true' }],
      parameters: [{ name: 's', type: 'secret' }],
    });
    expect(definitionFromState(state)).toEqual({
      schemaVersion: 1,
      name: 'Short',
      description: '',
      parameters: [{ name: 's', type: 'secret', required: true }],
      steps: [{ ...common, name: 'one', kind: 'shell', command: 'true' }],
      chains: {},
    });
  });

  it('starts a new job with one empty shell step and the format’s defaults', () => {
    expect(definitionFromState(emptyEditorState())).toEqual({
      schemaVersion: 1,
      name: '',
      description: '',
      parameters: [],
      steps: [{ ...common, name: 'Step 1', kind: 'shell', command: '' }],
      chains: {},
    });
  });

  it('refuses what the builder could not show faithfully, so that it is edited as JSON', () => {
    const bad = (definition: unknown) => {
      const r = stateFromDefinition(definition);
      return r.ok ? null : r.error;
    };
    const step = { name: 'one', kind: 'shell', command: 'true' };
    expect(bad([])).toMatch(/the definition is not an object/);
    expect(bad({ name: 'x', steps: [{ ...step, retrys: 3 }] })).toMatch(/steps\.0\.retrys is not a field the editor knows/);
    expect(bad({ name: 'x', steps: [{ ...step, body: 'echo' }] })).toMatch(/steps\.0\.body/);
    expect(bad({ name: 'x', steps: [{ ...step, timeoutSeconds: '60' }] })).toMatch(/steps\.0\.timeoutSeconds is not a number/);
    expect(bad({ name: 'x', steps: [{ ...step, kind: 'ansible' }] })).toMatch(/steps\.0\.kind is not one of/);
    expect(bad({ name: 'x', steps: [{ ...step, retries: { count: 1, tries: 2 } }] })).toMatch(/steps\.0\.retries\.tries/);
    expect(bad({ name: 'x', steps: [step], parameters: [{ name: 'e', type: 'enum', values: ['a\nb'] }] })).toMatch(
      /parameters\.0\.values\.0/,
    );
    expect(bad({ name: 'x', steps: [step], parameters: [{ name: 'e', type: 'enum', values: [' a'] }] })).toMatch(
      /parameters\.0\.values\.0/,
    );
    expect(bad({ name: 'x', steps: [step], parameters: [{ name: 's', type: 'secret', default: 'x' }] })).toMatch(/parameters\.0\.default/);
    expect(bad({ name: 'x', steps: [step], chains: { onSucess: 'y' } })).toMatch(/chains\.onSucess/);
    expect(bad({ name: 'x', steps: [step], schemaVersion: 2 })).toMatch(/schemaVersion/);
    expect(bad({ name: 'x', steps: [step], owner: 'me' })).toMatch(/owner is not a field/);
  });

  it('keeps every kind’s fields while another kind is chosen, and sends only the chosen kind’s', () => {
    let state = stateOf(stored);
    const id = state.steps[0]!.id;
    state = { ...state, steps: updateItem(state.steps, id, { kind: 'script', body: 'uptime' }) };
    expect(definitionFromState(state).steps[0]).toEqual({ ...common, name: 'sh', kind: 'script', interpreter: 'sh', body: 'uptime' });
    state = { ...state, steps: updateItem(state.steps, id, { kind: 'shell' }) };
    expect(definitionFromState(state).steps[0]).toEqual(stored.steps[0]);
  });

  it('sends text that is not a number as it is (the API names the field), and leaves empty optional numbers out', () => {
    let state = stateOf(stored);
    const days = state.parameters[1]!.id;
    state = { ...state, parameters: updateItem(state.parameters, days, { default: 'seven', min: '', max: ' 10 ' }) };
    state = { ...state, steps: updateItem(state.steps, state.steps[7]!.id, { seconds: '', timeoutSeconds: '' }) };
    const definition = definitionFromState(state);
    expect(definition.parameters![1]).toEqual({ name: 'days', type: 'number', required: false, default: 'seven', integer: true, max: 10 });
    expect(definition.steps[7]).toEqual({ ...common, name: 'wait', kind: 'wait', condition: 'on_failure' });
  });

  it('reads enum values one per line', () => {
    expect(enumValues(' pilot \r\n\nbroad\n')).toEqual(['pilot', 'broad']);
  });

  it('keeps a definition without approval without it, and gives back one with approval exactly', () => {
    expect('approval' in definitionFromState(stateOf(stored))).toBe(false);
    expect(stateOf(stored)).toMatchObject({ approval: false, approvalExpiry: '24', approvalUnit: 'hours' });
    for (const expiresAfterSeconds of [60, 61, 90, 3600, 5400, 86_400, 90_000, 172_800, 2_592_000]) {
      const guarded = { ...stored, approval: { expiresAfterSeconds } };
      expect(definitionFromState(stateOf(guarded))).toStrictEqual(guarded);
    }
    expect(stateOf({ ...stored, approval: { expiresAfterSeconds: 5400 } })).toMatchObject({
      approval: true,
      approvalExpiry: '90',
      approvalUnit: 'minutes',
    });
    expect(stateOf({ ...stored, approval: { expiresAfterSeconds: 604_800 } })).toMatchObject({ approvalExpiry: '7', approvalUnit: 'days' });
  });

  it('fills in the default expiry of an approval written without one', () => {
    expect(definitionFromState(stateOf({ ...stored, approval: {} })).approval).toEqual({ expiresAfterSeconds: 86_400 });
  });

  it('sends the expiry typed in its unit, the default when empty, and text that is not a number as it is', () => {
    const base = stateOf(stored);
    const approval = (patch: Partial<EditorState>) => definitionFromState({ ...base, approval: true, ...patch }).approval;
    expect(approval({})).toEqual({ expiresAfterSeconds: 86_400 });
    expect(approval({ approvalExpiry: '1.5', approvalUnit: 'hours' })).toEqual({ expiresAfterSeconds: 5400 });
    expect(approval({ approvalExpiry: '1.1', approvalUnit: 'hours' })).toEqual({ expiresAfterSeconds: 3960 });
    expect(approval({ approvalExpiry: '3', approvalUnit: 'days' })).toEqual({ expiresAfterSeconds: 259_200 });
    expect(approval({ approvalExpiry: ' ' })).toEqual({});
    expect(approval({ approvalExpiry: 'soon' })).toEqual({ expiresAfterSeconds: 'soon' });
    // Unticked: no approval, and the expiry typed is kept for when it is ticked again.
    const off = { ...base, approval: false, approvalExpiry: '2', approvalUnit: 'days' as const };
    expect('approval' in definitionFromState(off)).toBe(false);
    expect(definitionFromState({ ...off, approval: true }).approval).toEqual({ expiresAfterSeconds: 172_800 });
  });

  it('refuses an approval the builder cannot show', () => {
    const bad = (approval: unknown) => {
      const r = stateFromDefinition({ ...stored, approval });
      return r.ok ? null : r.error;
    };
    expect(bad({ expiresAfterSeconds: '3600' })).toMatch(/approval\.expiresAfterSeconds is not a number/);
    expect(bad({ expiresAfter: 3600 })).toMatch(/approval\.expiresAfter is not a field the editor knows/);
    expect(bad(true)).toMatch(/approval is not an object/);
  });

  it('keeps the expiry typed in the builder when the JSON tab drops the approval', () => {
    const ticked = { ...stateOf(stored), approval: true, approvalExpiry: '45', approvalUnit: 'minutes' as const };
    const parsed = parseDefinitionText(JSON.stringify(stored), ticked);
    expect(parsed.ok && parsed.state).toMatchObject({ approval: false, approvalExpiry: '45', approvalUnit: 'minutes' });
  });

  it('leaves optional texts out when empty and trims chains', () => {
    let state = stateOf(stored);
    state = { ...state, onSuccess: '  Next  ', onFailure: '' };
    state = { ...state, parameters: updateItem(state.parameters, state.parameters[0]!.id, { label: '', description: '' }) };
    const definition = definitionFromState(state);
    expect(definition.chains).toEqual({ onSuccess: 'Next' });
    expect(definition.parameters![0]).toEqual({ name: 'who', type: 'string', required: true, default: 'world' });
  });
});

describe('editing', () => {
  it('adds parameters with names not taken yet and items with ids of their own', () => {
    let state = emptyEditorState();
    state = addParameter(addParameter(state));
    state = { ...state, parameters: updateItem(state.parameters, state.parameters[0]!.id, { name: 'PARAM3' }) };
    state = addParameter(state);
    expect(state.parameters.map((p) => p.name)).toEqual(['PARAM3', 'param2', 'param4']);
    state = addStep(addStep(state));
    const ids = [...state.parameters, ...state.steps].map((x) => x.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(state.steps.map((s) => s.name)).toEqual(['Step 1', 'Step 2', 'Step 3']);
  });

  it('moves items within the list', () => {
    const list = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
    expect(moveItem(list, 'c', -1).map((x) => x.id)).toEqual(['a', 'c', 'b']);
    expect(moveItem(list, 'a', -1).map((x) => x.id)).toEqual(['a', 'b', 'c']);
    expect(moveItem(list, 'a', 5).map((x) => x.id)).toEqual(['b', 'c', 'a']);
    expect(moveItem(list, 'nope', 1)).toEqual(list);
  });

  it('makes a secret required by default and drops a default that no longer fits the type', () => {
    const p = stateOf(stored).parameters[0]!;
    const secret = changeParameterType(p, 'secret');
    expect(secret.required).toBe(true);
    expect(changeParameterType({ ...secret, required: true }, 'string').required).toBe(false);
    expect(changeParameterType(p, 'boolean').default).toBe('');
    expect(changeParameterType(p, 'enum').default).toBe('world');
  });

  it('reads the JSON tab, keeping the ids of the items at the same positions', () => {
    const state = stateOf(stored);
    const parsed = parseDefinitionText(JSON.stringify({ ...stored, description: 'changed' }), state);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.state.description).toBe('changed');
    expect(parsed.state.steps.map((s) => s.id)).toEqual(state.steps.map((s) => s.id));
    const more = parseDefinitionText(JSON.stringify({ ...stored, steps: [...stored.steps, stored.steps[0]] }), state);
    expect(more.ok && new Set(more.state.steps.map((s) => s.id)).size).toBe(stored.steps.length + 1);
    expect(parseDefinitionText('{"name": ', state)).toMatchObject({ ok: false, error: expect.stringMatching(/^Not valid JSON/) });
  });
});

describe('validation issues', () => {
  it('takes paths relative to the definition, whichever call reported them', () => {
    expect(normalizeIssuePath('definition.steps.1.command')).toBe('steps.1.command');
    expect(normalizeIssuePath('steps.1.command')).toBe('steps.1.command');
    expect(normalizeIssuePath('definition')).toBe('');
    expect(normalizeIssuePath('body.definition.name')).toBe('name');
  });

  it('puts an issue on the input of the item it names, which it follows when the item moves', () => {
    const state = stateOf(stored);
    const [p0] = state.parameters;
    const s1 = state.steps[1]!;
    expect(issueKey(state, 'definition.steps.1.command')).toBe(`s:${s1.id}.command`);
    expect(issueKey(state, 'steps.1.retries.count')).toBe(`s:${s1.id}.retries.count`);
    expect(issueKey(state, 'steps.1')).toBe(`s:${s1.id}`);
    expect(issueKey(state, 'parameters.0.values.1')).toBe(`p:${p0!.id}.values`);
    expect(issueKey(state, 'steps.99.command')).toBe('steps');
    expect(issueKey(state, 'chains.onSuccess')).toBe('chains.onSuccess');
    expect(issueKey(state, 'definition.name')).toBe('name');

    const byKey = issuesByKey(state, [
      { path: 'definition.steps.1.command', message: 'a' },
      { path: 'definition.steps.1.command', message: 'b' },
      { path: 'name', message: 'is taken' },
    ]);
    expect(byKey).toEqual({ [`s:${s1.id}.command`]: ['a', 'b'], name: ['is taken'] });

    expect(keyLocation(state, `s:${s1.id}.command`)).toBe('Step 2 “ps” · command');
    const moved = { ...state, steps: moveItem(state.steps, s1.id, -1) };
    expect(keyLocation(moved, `s:${s1.id}.command`)).toBe('Step 1 “ps” · command');
    expect(keyLocation(state, `p:${p0!.id}`)).toBe('Parameter 1 “who”');
    expect(keyLocation(state, 'chains.onSuccess')).toBe('chains.onSuccess');
    expect(keyLocation(state, '')).toBe('definition');
  });
});
