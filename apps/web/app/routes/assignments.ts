/**
 * /assignments — a resource route behind the software-assignment panels (components/software-assignments.tsx) of the
 * package, device and group pages and the bulk panels of the device and group lists.
 * GET: the assignments of a device (its own and its groups'), a group or a package; with `options`, what the assign
 * form offers (packages, groups, and the versions of `packageId`).
 * POST: assign (to one target, or to all selected devices or groups), remove (optionally uninstalling), install an
 * available assignment on a device. The API's refusals (409 assignment_conflict…) come back as { ok: false, error }.
 */
import { data, type ActionFunctionArgs, type LoaderFunctionArgs } from '@remix-run/node';
import { z } from 'zod';
import { uuid } from '@opsconductor/contracts/api';
import { assignmentIntents } from '@opsconductor/contracts/deployments';
import { ApiError, requireApi, type ApiClient } from '~/lib/api.server';
import { pluralize } from '~/lib/format';

export type AssignmentAnswer =
  { ok: true; message: string; intent: string; jobRunId?: string } | { ok: false; error: string; code: string; intent: string };

const scope = z.object({ deviceId: uuid.optional(), groupId: uuid.optional(), packageId: uuid.optional() });

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  const sp = new URL(request.url).searchParams;
  const q = scope.safeParse({
    deviceId: sp.get('deviceId') || undefined,
    groupId: sp.get('groupId') || undefined,
    packageId: sp.get('packageId') || undefined,
  });
  if (!q.success) throw data({ title: 'Bad request' }, { status: 400 });
  if (sp.has('options')) {
    const [packages, groups, versions] = await Promise.all([
      api.get('/software/packages', { params: { query: { page: 1, pageSize: 200 } } }),
      api.get('/groups'),
      q.data.packageId ? api.get('/software/packages/{id}/versions', { params: { path: { id: q.data.packageId } } }) : null,
    ]);
    return {
      packages: packages.items
        .map((p) => ({ id: p.id, name: p.name, latestVersion: p.latestVersion }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      groups: groups.items
        .map((g) => ({ id: g.id, name: g.name, memberCount: g.memberCount }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      versions: versions?.items.map((v) => ({ id: v.id, version: v.version })) ?? null,
    };
  }
  if (!q.data.deviceId && !q.data.groupId && !q.data.packageId) throw data({ title: 'Bad request' }, { status: 400 });
  return api.get('/software/assignments', { params: { query: q.data } });
}

const answer = (a: AssignmentAnswer) => data<AssignmentAnswer>(a, { status: a.ok ? 200 : a.code === 'invalid' ? 400 : 409 });
const fail = (intent: string, error: string) => answer({ ok: false, error, code: 'invalid', intent });

const assignForm = z.object({
  packageId: uuid,
  versionId: z.union([z.literal(''), uuid]),
  assignIntent: z.enum(assignmentIntents),
  uninstallOnLeave: z.boolean(),
});

/** A device named by hostname (the package page's target field): exactly one active device of that name. */
async function deviceByHostname(api: ApiClient, hostname: string): Promise<string | string[]> {
  const found = await api.get('/devices', { params: { query: { search: hostname, pageSize: 50 } } });
  const exact = found.items.filter((d) => d.hostname.toLowerCase() === hostname.toLowerCase());
  return exact.length === 1 ? exact[0]!.id : exact.map((d) => d.id);
}

export async function action({ request, context }: ActionFunctionArgs) {
  const api = await requireApi(request, context);
  const form = await request.formData();
  const intent = String(form.get('intent') ?? '');
  try {
    if (intent === 'assign') {
      const parsed = assignForm.safeParse({
        packageId: form.get('packageId'),
        versionId: form.get('versionId') ?? '',
        assignIntent: form.get('assignIntent'),
        uninstallOnLeave: form.get('uninstallOnLeave') === 'on',
      });
      if (!parsed.success) {
        const field = String(parsed.error.issues[0]?.path[0] ?? '');
        return fail(
          intent,
          field === 'packageId' ? 'Choose a package.' : field === 'assignIntent' ? 'Choose what to do.' : 'Check the form.',
        );
      }
      const ids = (name: string) =>
        z
          .array(uuid)
          .max(1000)
          .safeParse(form.getAll(name).filter((v) => v !== ''));
      const deviceIds = ids('deviceIds');
      const groupIds = ids('groupIds');
      if (!deviceIds.success || !groupIds.success) return fail(intent, 'The selection is not valid.');
      const devices = [...deviceIds.data];
      const hostname = String(form.get('hostname') ?? '').trim();
      if (hostname) {
        if (hostname.length > 253) return fail(intent, 'That hostname is too long.');
        const found = await deviceByHostname(api, hostname);
        if (typeof found !== 'string')
          return fail(
            intent,
            found.length === 0
              ? `No device is named “${hostname}”.`
              : `${found.length} devices are named “${hostname}”: assign from the device’s page.`,
          );
        devices.push(found);
      }
      if (devices.length === 0 && groupIds.data.length === 0) return fail(intent, 'Choose a device or a group.');
      if (groupIds.data.length > 100) return fail(intent, 'At most 100 groups at once.');
      const { packageId, versionId, assignIntent, uninstallOnLeave } = parsed.data;
      const created = await api.post('/software/assignments', {
        body: {
          packageId,
          versionId: versionId || null,
          deviceIds: devices,
          groupIds: groupIds.data,
          intent: assignIntent,
          uninstallOnLeave: groupIds.data.length > 0 && uninstallOnLeave,
        },
      });
      const first = created.items[0];
      const what = first ? `${first.package.name} ${first.version?.version ?? '(latest)'}` : 'The package';
      const targets = [
        devices.length ? pluralize(devices.length, 'device') : null,
        groupIds.data.length ? pluralize(groupIds.data.length, 'group') : null,
      ]
        .filter(Boolean)
        .join(' and ');
      const superseded = created.superseded ? ` (replacing ${pluralize(created.superseded, 'older assignment')})` : '';
      return answer({ ok: true, intent, message: `${what} is now ${assignIntent} on ${targets}${superseded}.` });
    }
    const id = uuid.safeParse(form.get('assignmentId'));
    if (!id.success) return fail(intent, 'No assignment was chosen.');
    if (intent === 'remove') {
      const uninstall = form.get('uninstall') === 'on';
      await api.delete('/software/assignments/{id}', {
        params: { path: { id: id.data }, query: { uninstall: uninstall ? 'true' : 'false' } },
      });
      return answer({
        ok: true,
        intent,
        message: uninstall
          ? 'Removed the assignment; the package is uninstalled where no other assignment keeps it.'
          : 'Removed the assignment.',
      });
    }
    if (intent === 'install') {
      const deviceId = uuid.safeParse(form.get('deviceId'));
      if (!deviceId.success) return fail(intent, 'No device was chosen.');
      const run = await api.post('/software/assignments/{id}/install', {
        params: { path: { id: id.data } },
        body: { deviceId: deviceId.data },
      });
      return answer({ ok: true, intent, message: 'Installing now.', jobRunId: run.jobRunId });
    }
    return fail(intent, 'Unknown action.');
  } catch (error) {
    // 401/403/404/5xx became a redirect or an error page in requireApi's client already.
    if (!(error instanceof ApiError)) throw error;
    return answer({ ok: false, intent, code: error.code, error: error.detail ?? error.title });
  }
}
