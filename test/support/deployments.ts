/** Helpers of the deployment end-to-end tests: a package version to deploy, and waiting for a deployment's status. */
import { expect } from 'vitest';
import { waitFor } from './tools.ts';

/** Calls the admin API at /api/v1 (the path given after it). */
export type AdminApi = (method: string, path: string, json?: unknown) => Promise<{ status: number; body: any }>;

/** A package with one version installed by the package manager (the fleet simulator installs anything). */
export async function aptPackageVersion(api: AdminApi, name: string): Promise<{ packageId: string; versionId: string }> {
  const pkg = await api('POST', '/software/packages', { name, platform: 'linux' });
  expect(pkg.status, JSON.stringify(pkg.body)).toBe(201);
  const version = await api('POST', `/software/packages/${pkg.body.id}/versions`, {
    version: '1.0',
    installerType: 'apt',
    packageName: name,
  });
  expect(version.status, JSON.stringify(version.body)).toBe(201);
  return { packageId: pkg.body.id as string, versionId: version.body.id as string };
}

/** The deployment once it is in one of `statuses`; a timeout says where it was and what its timeline holds. */
export async function untilDeploymentStatus(api: AdminApi, id: string, statuses: string[], timeoutMs = 90_000): Promise<any> {
  let last: any;
  try {
    return await waitFor(
      `deployment ${id} to reach ${statuses.join(' or ')}`,
      async () => {
        last = (await api('GET', `/deployments/${id}`)).body;
        return statuses.includes(last.status) ? last : undefined;
      },
      timeoutMs,
      250,
    );
  } catch (err) {
    const events = (await api('GET', `/deployments/${id}/events`)).body;
    throw new Error(`${(err as Error).message}\nlast: ${JSON.stringify(last)}\nevents: ${JSON.stringify(events)}`, { cause: err });
  }
}
