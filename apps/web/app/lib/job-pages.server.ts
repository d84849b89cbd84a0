/** Loader pieces the job pages share: the job ID from the URL, the editor's tab, names for chains. */
import { data, type LoaderFunctionArgs } from '@remix-run/node';
import { z } from 'zod';
import { uuid } from '@opsconductor/contracts/api';
import type { ApiClient, RouteErrorData } from './api.server';

export function jobIdParam(params: LoaderFunctionArgs['params']): string {
  const parsed = uuid.safeParse(params.id);
  if (!parsed.success) throw data<RouteErrorData>({ title: 'Job not found' }, { status: 404 });
  return parsed.data;
}

const versionNumber = z.coerce.number().int().min(1).max(2_147_483_647);

/** A version number from the URL (`/versions/3`, `?from=2`), or null when there is none or it is not one. */
export function versionParam(value: string | null | undefined): number | null {
  const parsed = versionNumber.safeParse(value ?? undefined);
  return parsed.success ? parsed.data : null;
}

/** The editor's tab from `?tab=json` (the tabs are links, so that the JSON tab works without JavaScript). */
export const editorTab = (request: Request): 'builder' | 'json' =>
  new URL(request.url).searchParams.get('tab') === 'json' ? 'json' : 'builder';

/** Job names a chain may name (the first 200 by name; more can be typed). */
export async function chainableJobNames(api: ApiClient, except?: string): Promise<string[]> {
  const { items } = await api.get('/jobs', { params: { query: { pageSize: 200 } } });
  return items.map((j) => j.name).filter((n) => n !== except);
}

/** The API's file name for an exported job (apps/api/src/routes/jobs.ts): the name with anything unusual as `-`. */
export const exportFileName = (name: string) => `${name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'job'}.job.json`;
