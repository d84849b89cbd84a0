import { builtInFieldTypes, type DeviceFacts } from '../src/index.ts';

type Overrides = Partial<Omit<DeviceFacts, 'groups'>> & { groups?: Iterable<string> };

/** Facts with every built-in field missing (null), then the given overrides. */
export function makeFacts(overrides: Overrides = {}): DeviceFacts {
  const empty = Object.fromEntries(Object.keys(builtInFieldTypes).map((k) => [k, null]));
  const { groups, ...rest } = overrides;
  return { ...empty, customFields: {}, software: [], ...rest, groups: new Set(groups ?? []) } as DeviceFacts;
}
