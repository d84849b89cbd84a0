/**
 * Resource route: proxies the API's server-sent events of one run to the browser's EventSource
 * (the browser never holds the API token). `after` resumes after a chunk id, `targetsSince` limits the targets sent
 * to those changed since (a large run's page holds one page of them); the upstream request
 * is aborted when the browser disconnects (request.signal), and the relayed body then simply ends.
 */
import type { LoaderFunctionArgs } from '@remix-run/node';
import { z } from 'zod';
import { uuid } from '@opsconductor/contracts/api';
import { ApiContractError, ApiError, ApiUnreachableError, publicApi } from '~/lib/api.server';
import { relayEventStream } from '~/lib/event-stream.server';
import { getSessionToken } from '~/lib/session.server';

const isoDateTime = z.iso.datetime({ offset: true });

const text = (status: number, body: string) =>
  new Response(body, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } });

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = uuid.safeParse(params.id);
  if (!id.success) return text(404, 'Run not found');
  const token = await getSessionToken(request);
  if (!token) return text(401, 'Not signed in');
  const query = new URL(request.url).searchParams;
  const after = query.get('after');
  const targetsSince = isoDateTime.safeParse(query.get('targetsSince'));
  try {
    const upstream = await publicApi(request, context, token).stream('/job-runs/{id}/events', 'text/event-stream', {
      params: {
        path: { id: id.data },
        query: {
          after: after && /^\d{1,19}$/.test(after) ? after : undefined,
          ...(targetsSince.success ? { targetsSince: targetsSince.data } : {}),
        },
      },
    });
    return new Response(relayEventStream(upstream.body, request.signal), {
      headers: {
        'Content-Type': 'text/event-stream; charset=utf-8',
        // no-transform keeps compression middleware from buffering the stream.
        'Cache-Control': 'no-cache, no-transform',
        'X-Accel-Buffering': 'no',
      },
    });
  } catch (error) {
    if (error instanceof ApiError) return text(error.status, error.detail ?? error.title);
    if (error instanceof ApiUnreachableError) return text(503, 'API unreachable');
    if (error instanceof ApiContractError) return text(502, 'Unexpected response from the API');
    if (request.signal.aborted) return text(499, 'Client closed request');
    throw error;
  }
}
