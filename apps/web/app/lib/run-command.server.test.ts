import { describe, expect, it } from 'vitest';
import { parseRunCommandForm } from './run-command.server';

const id = '6f1c2b1e-8a7d-4c55-9a57-0d5c7b1b6a11';
function form(fields: Record<string, string | string[]>): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) for (const value of [v].flat()) f.append(k, value);
  return f;
}

describe('parseRunCommandForm', () => {
  it("turns the browser's CRLF line breaks into LF and applies the defaults", () => {
    const r = parseRunCommandForm(form({ deviceIds: [id], command: 'echo a\r\necho b\r\n' }));
    expect(r).toEqual({
      ok: true,
      request: { deviceIds: [id], command: 'echo a\necho b\n', shell: 'default', timeoutSeconds: 300, deadlineSeconds: 3600 },
    });
  });

  it('reports every bad field', () => {
    const r = parseRunCommandForm(form({ command: '  \r\n ', shell: 'zsh', timeoutSeconds: '0', deadlineSeconds: 'soon' }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.fieldErrors).toMatchObject({
      deviceIds: 'Select at least one device',
      command: 'Enter a command',
      timeoutSeconds: 'Timeout must be at least 1 s',
      deadlineSeconds: 'Deadline must be a number',
    });
    expect(r.fieldErrors.shell).toBeTruthy();
  });

  it("reads the other targets: the list's filter, a group, a tag (and ignores checked rows for them)", () => {
    const base = { command: 'uptime', deviceIds: [id] };
    const filter = parseRunCommandForm(form({ ...base, target: 'filter', filter: JSON.stringify({ status: 'online', tag: 'prod' }) }));
    expect(filter).toMatchObject({ ok: true, request: { filter: { status: 'online', tag: 'prod' }, command: 'uptime' } });
    if (filter.ok) expect(filter.request.deviceIds).toBeUndefined();
    expect(parseRunCommandForm(form({ ...base, target: 'group', targetGroupId: id }))).toMatchObject({
      ok: true,
      request: { groupIds: [id] },
    });
    expect(parseRunCommandForm(form({ ...base, target: 'tag', targetTag: 'prod' }))).toMatchObject({
      ok: true,
      request: { tags: ['prod'] },
    });
    // The group page and a device's page fix the target whatever the form says.
    expect(parseRunCommandForm(form({ ...base, target: 'tag' }), { groupIds: [id] })).toMatchObject({
      ok: true,
      request: { groupIds: [id] },
    });
    const own = parseRunCommandForm(form({ command: 'id', target: 'filter', filter: '{}', deviceIds: [] }), { deviceIds: [id] });
    expect(own).toEqual({
      ok: true,
      request: { deviceIds: [id], command: 'id', shell: 'default', timeoutSeconds: 300, deadlineSeconds: 3600 },
    });
  });

  it('reports a missing or forged target', () => {
    const forged: Record<string, string>[] = [
      { target: 'group' },
      { target: 'group', targetGroupId: 'x' },
      { target: 'tag', targetTag: '' },
      { target: 'filter', filter: '{"status":"asleep"}' },
      { target: 'filter', filter: 'not json' },
      { target: 'everything' },
    ];
    for (const fields of forged) {
      const r = parseRunCommandForm(form({ command: 'true', ...fields }));
      expect(r.ok, JSON.stringify(fields)).toBe(false);
      if (!r.ok) expect(r.fieldErrors.target).toBeTruthy();
    }
  });
});
