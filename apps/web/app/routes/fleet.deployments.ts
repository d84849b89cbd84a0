/**
 * /fleet/deployments — a resource route behind the deployment badges (components/deployment-badges.tsx):
 * `deviceId`: the deployments the device is part of, with its own status in each (GET /devices/{id}/deployments);
 * `groupId`: the deployments that target the group or use it as their pilot (GET /deployments?groupId=).
 */
import { data, type LoaderFunctionArgs } from '@remix-run/node';
import { uuid } from '@opsconductor/contracts/api';
import { requireApi } from '~/lib/api.server';

const SHOWN = 20;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  const sp = new URL(request.url).searchParams;
  const deviceId = uuid.safeParse(sp.get('deviceId'));
  const groupId = uuid.safeParse(sp.get('groupId'));
  if (deviceId.success) {
    const { items } = await api.get('/devices/{id}/deployments', { params: { path: { id: deviceId.data } } });
    return {
      items: items.map((d) => ({
        id: d.id,
        name: d.name,
        status: d.status,
        package: d.package.name,
        version: d.version.version,
        deviceStatus: d.device.status as string | null,
      })),
      total: items.length,
    };
  }
  if (groupId.success) {
    const list = await api.get('/deployments', { params: { query: { groupId: groupId.data, pageSize: SHOWN } } });
    return {
      items: list.items.map((d) => ({
        id: d.id,
        name: d.name,
        status: d.status,
        package: d.package.name,
        version: d.version.version,
        deviceStatus: null as string | null,
      })),
      total: list.total,
    };
  }
  throw data({ title: 'Bad request' }, { status: 400 });
}
