/**
 * The browser uploads installers to the console's own origin (POST /depot/upload?fileName=…, the file as the body);
 * this passes the body stream on to the API's `POST /api/v1/depot/artifacts` as it arrives — never buffered, so a
 * multi-gigabyte installer costs the console no memory — with the session's token, the browser's address for the
 * audit log, and the Content-Length the browser sent (the API refuses an oversized file before reading it). The
 * CSRF check is the same-origin guard in front of every action (same-origin.mjs). The API's answer (the artifact, or
 * its problem+json) goes back to the browser as it is.
 *
 * A cancelled upload must not become a short artifact: the request stream Remix hands over ends cleanly when the
 * browser goes away (its pump treats the socket's `close` as the end of the body), so the bytes are counted against
 * the Content-Length on the way through, and a body that ends early (or runs long) errors the stream, which aborts
 * the call to the API before it can store anything. Content-Length is therefore required (browsers send it for a
 * File).
 */
export type UploadForwardOptions = {
  apiUrl: string;
  token: string;
  forwardedFor?: string | null;
  fetch?: typeof fetch;
};

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' } });

export async function forwardUpload(request: Request, options: UploadForwardOptions): Promise<Response> {
  if (request.method !== 'POST') return json(405, { title: 'Method Not Allowed', code: 'method_not_allowed' });
  const fileName = new URL(request.url).searchParams.get('fileName') ?? '';
  if (!fileName.trim()) return json(400, { title: 'Name the file', code: 'validation_failed', detail: 'The upload needs ?fileName=.' });
  if (!request.body) return json(400, { title: 'The request body is the file.', code: 'validation_failed' });
  const headers: Record<string, string> = {
    Authorization: `Bearer ${options.token}`,
    'Content-Type': 'application/octet-stream',
    Accept: 'application/json, application/problem+json',
  };
  const length = request.headers.get('Content-Length');
  if (length === null || !/^\d+$/.test(length)) {
    await request.body.cancel();
    return json(411, { title: 'Length Required', code: 'validation_failed', detail: 'Send the file with its Content-Length.' });
  }
  headers['Content-Length'] = length;
  const counted = countedBody(request.body, Number(length));
  if (options.forwardedFor) headers['X-Forwarded-For'] = options.forwardedFor;
  const userAgent = request.headers.get('User-Agent');
  if (userAgent) headers['User-Agent'] = userAgent.slice(0, 512);
  let answer: Response;
  try {
    answer = await (options.fetch ?? fetch)(
      `${options.apiUrl.replace(/\/+$/, '')}/api/v1/depot/artifacts?${new URLSearchParams({ fileName })}`,
      // A stream body needs `duplex: 'half'` (not yet in TypeScript's RequestInit).
      { method: 'POST', headers, body: counted.body, duplex: 'half', signal: request.signal, redirect: 'manual' } as RequestInit,
    );
  } catch (error) {
    if (counted.cutOff()) return json(400, { title: 'The upload was cut off', code: 'validation_failed', detail: 'Nothing was kept.' });
    if (request.signal.aborted) throw error;
    return json(503, { title: 'API unreachable', code: 'api_unreachable', detail: 'The console could not reach the OpsConductor API.' });
  }
  return new Response(answer.body, {
    status: answer.status,
    headers: { 'Content-Type': answer.headers.get('Content-Type') ?? 'application/json', 'Cache-Control': 'no-store' },
  });
}

/** The body passed through as it is, erroring when it ends before (or runs past) `expected` bytes. */
function countedBody(body: ReadableStream<Uint8Array>, expected: number) {
  let seen = 0;
  let cutOff = false;
  const transform = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > expected) {
        cutOff = true;
        controller.error(new Error(`the body runs past its Content-Length (${expected} bytes)`));
        return;
      }
      controller.enqueue(chunk);
    },
    flush(controller) {
      if (seen !== expected) {
        cutOff = true;
        controller.error(new Error(`the body ended after ${seen} of ${expected} bytes`));
      }
    },
  });
  return { body: body.pipeThrough(transform), cutOff: () => cutOff };
}
