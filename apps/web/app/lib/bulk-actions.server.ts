/**
 * Tag, group-membership and custom-field changes on a set of devices: the device list's bulk actions
 * and the device page's tag / custom-field editors share these.
 */
import { data } from '@remix-run/node';
import { z } from 'zod';
import { uuid } from '@opsconductor/contracts/api';
import { tagName } from '@opsconductor/contracts/inventory-api';
import { ApiError, type ApiClient } from './api.server';
import { formatFieldValue, pluralize } from './format';

export const bulkIntents = ['tags-add', 'tags-remove', 'group-add', 'group-remove', 'custom-field'] as const;
export type BulkIntent = (typeof bulkIntents)[number];
export const isBulkIntent = (intent: string): intent is BulkIntent => (bulkIntents as readonly string[]).includes(intent);

export type BulkResult = { bulk: true; intent: string; ok: boolean; message?: string; error?: string };

const ok = (intent: string, message: string) => data<BulkResult>({ bulk: true, intent, ok: true, message });
const fail = (intent: string, error: string, status = 400) => data<BulkResult>({ bulk: true, intent, ok: false, error }, { status });

/** "a, b ,,c" → ["a", "b", "c"] (deduplicated), or the first invalid tag's message. */
export function parseTags(text: string): { ok: true; tags: string[] } | { ok: false; error: string } {
  const items = [
    ...new Set(
      text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  if (items.length === 0) return { ok: false, error: 'Enter one or more tags, separated by commas.' };
  if (items.length > 50) return { ok: false, error: 'At most 50 tags at once.' };
  for (const t of items) {
    const r = tagName.safeParse(t);
    if (!r.success) return { ok: false, error: `“${t.slice(0, 100)}” is not a valid tag: ${r.error.issues[0]?.message ?? 'invalid'}` };
  }
  return { ok: true, tags: items };
}

export type FieldDefinition = { key: string; label: string; type: 'text' | 'number' | 'boolean' | 'date' | 'enum'; enumValues: string[] };

/** A custom field's form value as the API wants it; an empty value clears the field (null). */
export function customFieldValue(
  def: FieldDefinition,
  raw: string,
): { ok: true; value: string | number | boolean | null } | { ok: false; error: string } {
  const text = def.type === 'text' ? raw : raw.trim();
  if (text.trim() === '') return { ok: true, value: null };
  switch (def.type) {
    case 'number': {
      const n = Number(text);
      return Number.isFinite(n) ? { ok: true, value: n } : { ok: false, error: `${def.label} must be a number.` };
    }
    case 'boolean':
      if (text === 'true' || text === 'false') return { ok: true, value: text === 'true' };
      return { ok: false, error: `${def.label} must be yes or no.` };
    case 'date':
      return /^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(Date.parse(text))
        ? { ok: true, value: text }
        : { ok: false, error: `${def.label} must be a date (YYYY-MM-DD).` };
    case 'enum':
      return def.enumValues.includes(text)
        ? { ok: true, value: text }
        : { ok: false, error: `${def.label} must be one of ${def.enumValues.join(', ')}.` };
    default:
      return text.length <= 1000 ? { ok: true, value: text } : { ok: false, error: `${def.label} is longer than 1,000 characters.` };
  }
}

/** Runs one bulk intent on `deviceIds` (already the devices the user selected). */
export async function runBulkAction(api: ApiClient, intent: BulkIntent, form: FormData, deviceIdsRaw: FormDataEntryValue[]) {
  const ids = z.array(uuid).max(10_000).safeParse(deviceIdsRaw);
  if (!ids.success) return fail(intent, 'Invalid device selection.');
  const deviceIds = ids.data;
  if (deviceIds.length === 0) return fail(intent, 'Select at least one device.');
  const n = pluralize(deviceIds.length, 'device');
  try {
    switch (intent) {
      case 'tags-add':
      case 'tags-remove': {
        const tags = parseTags(String(form.get('tags') ?? ''));
        if (!tags.ok) return fail(intent, tags.error);
        await api.post('/devices/tags', { body: intent === 'tags-add' ? { deviceIds, add: tags.tags } : { deviceIds, remove: tags.tags } });
        return ok(intent, intent === 'tags-add' ? `Tagged ${n}: ${tags.tags.join(', ')}` : `Removed ${tags.tags.join(', ')} from ${n}`);
      }
      case 'group-add':
      case 'group-remove': {
        const groupId = uuid.safeParse(form.get('groupId'));
        if (!groupId.success) return fail(intent, 'Choose a static group.');
        const group = await api.get('/groups/{id}', { params: { path: { id: groupId.data } } });
        if (group.kind !== 'static') return fail(intent, `${group.name} is a dynamic group: its rule decides its members.`);
        await api.post('/groups/{id}/members', {
          params: { path: { id: group.id } },
          body: intent === 'group-add' ? { add: deviceIds } : { remove: deviceIds },
        });
        return ok(intent, intent === 'group-add' ? `Added ${n} to ${group.name}` : `Removed ${n} from ${group.name}`);
      }
      case 'custom-field': {
        const key = String(form.get('fieldKey') ?? '');
        const { items } = await api.get('/custom-fields');
        const def = items.find((f) => f.key === key);
        if (!def) return fail(intent, 'Choose a custom field.');
        const value = customFieldValue(def, String(form.get('fieldValue') ?? ''));
        if (!value.ok) return fail(intent, value.error);
        await api.post('/devices/custom-fields', { body: { deviceIds, values: { [def.key]: value.value } } });
        return ok(
          intent,
          value.value === null ? `Cleared ${def.label} on ${n}` : `Set ${def.label} to ${formatFieldValue(value.value)} on ${n}`,
        );
      }
    }
  } catch (error) {
    if (error instanceof ApiError) {
      const detail = error.errors[0] ? `${error.detail ?? error.title} (${error.errors[0].message})` : (error.detail ?? error.title);
      return fail(intent, detail, error.status);
    }
    throw error;
  }
}
