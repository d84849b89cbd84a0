/** A job run's targets: packages/devices' resolution with the API's database and online window. */
import type { JobRunTargetSelection } from '@opsconductor/contracts/api';
import { previewTargets as preview, resolveTargets as resolve } from '@opsconductor/devices';
import type { ApiDeps } from '../context.ts';

export { normalizeSelection } from '@opsconductor/devices';

const targetDeps = (deps: ApiDeps) => ({ db: deps.db, presence: deps.config.presence });

export const previewTargets = (deps: ApiDeps, selection: JobRunTargetSelection, sampleSize: number) =>
  preview(targetDeps(deps), selection, sampleSize);
export const resolveTargets = (deps: ApiDeps, selection: JobRunTargetSelection) => resolve(targetDeps(deps), selection);
