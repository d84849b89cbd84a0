/**
 * Workflow histories as JSON files, in the proto3 JSON form Temporal's tools use (`temporal workflow show -o json`).
 *
 * Why not `historyToJSON` / `historyFromJSON` from `@temporalio/common`: they combine the protobufjs copy of
 * `@temporalio/common` with the types of `@temporalio/proto`; when npm installs protobufjs more than once (it does
 * here: the root holds protobufjs 7 for @grpc/proto-loader), they throw "type must be a Type". Taking protobufjs
 * from where `@temporalio/proto` resolves it works with any install layout.
 */
import { createRequire } from 'node:module';
import type { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;

const require = createRequire(import.meta.url);
const protoEntry = require.resolve('@temporalio/proto');
const fromProto = createRequire(protoEntry);
const proto = fromProto('@temporalio/proto') as typeof import('@temporalio/proto');
const protojson = fromProto('protobufjs/ext/protojson') as {
  toJson(type: unknown, message: unknown, options?: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: unknown): History | null;
};
const { patchProtobufRoot } = fromProto('@temporalio/proto/lib/patch-protobuf-root') as {
  patchProtobufRoot(root: unknown): { lookupType(name: string): unknown };
};
const historyType = patchProtobufRoot(proto).lookupType('temporal.api.history.v1.History');

export function historyToJSON(history: History): string {
  const json = protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history));
  return `${JSON.stringify(json, null, 1)}\n`;
}

export function historyFromJSON(json: unknown): History {
  const fixed = normalizeEnums(json);
  const history = protojson.fromJson(historyType, fixed, { ignoreUnknownFields: true });
  if (!history) throw new TypeError('invalid history JSON');
  return history;
}

/** Older tools write enum values in PascalCase ("WorkflowExecutionStarted"); proto3 JSON wants EVENT_TYPE_… . */
function normalizeEnums(json: unknown): unknown {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { events?: unknown }).events)) {
    throw new TypeError('invalid history JSON: expected an object with an array of events');
  }
  const constant = (s: string) => s.replace(/[^\b][A-Z]/g, (m) => `${m[0]}_${m[1]}`).toUpperCase();
  const events = (json as { events: Record<string, unknown>[] }).events.map((event) => {
    const type = event.eventType;
    return typeof type === 'string' && !type.startsWith('EVENT_TYPE_') ? { ...event, eventType: `EVENT_TYPE_${constant(type)}` } : event;
  });
  return { ...json, events };
}
