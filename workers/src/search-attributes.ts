/**
 * Registers our custom search attributes on the namespace, so an external cluster (not only a dev server started
 * with `--search-attribute`) accepts workflows that set them. Safe to run on every start and from many workers.
 */
import type { Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import type { NativeConnection } from '@temporalio/worker';
import { searchAttributeKeys } from '@opsconductor/workflows/search-attributes';

const GRPC_ALREADY_EXISTS = 6;
const GRPC_UNIMPLEMENTED = 12;

export interface EnsureSearchAttributesResult {
  added: string[];
  existing: string[];
}

export async function ensureSearchAttributes(
  connection: Pick<Connection | NativeConnection, 'operatorService'>,
  namespace: string,
): Promise<EnsureSearchAttributesResult> {
  const { operatorService } = connection;
  // The list lets us spot a type clash; the time-skipping test server does not implement it.
  let known: Record<string, number> | undefined;
  try {
    const listed = await operatorService.listSearchAttributes({ namespace });
    known = { ...listed.systemAttributes, ...listed.customAttributes } as Record<string, number>;
  } catch (err) {
    if (grpcCode(err) !== GRPC_UNIMPLEMENTED) throw err;
  }
  const result: EnsureSearchAttributesResult = { added: [], existing: [] };
  for (const key of searchAttributeKeys) {
    const wanted = encodeSearchAttributeIndexedValueType(key.type)!;
    const current = known?.[key.name];
    if (current !== undefined && current !== null) {
      if (current !== wanted) {
        throw new Error(`search attribute ${key.name} exists in namespace ${namespace} with another type (${current}, want ${key.type})`);
      }
      result.existing.push(key.name);
      continue;
    }
    try {
      await operatorService.addSearchAttributes({ namespace, searchAttributes: { [key.name]: wanted } });
      result.added.push(key.name);
    } catch (err) {
      // Another worker registered it first (or the list was unavailable).
      if (grpcCode(err) !== GRPC_ALREADY_EXISTS) throw err;
      result.existing.push(key.name);
    }
  }
  return result;
}

function grpcCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}
