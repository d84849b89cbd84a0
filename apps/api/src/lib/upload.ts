/** The body of a streamed upload (the file itself as `application/octet-stream`), refused early when it cannot be one. */
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Context } from 'hono';
import { ApiError } from './problem.ts';

/** The request's body stream: 400 without a body, 415 when not octet-stream, 413 when Content-Length exceeds `maxBytes`. */
export function uploadBody(c: Context, maxBytes: number): WebReadableStream<Uint8Array> {
  const length = c.req.header('content-length');
  const body = c.req.raw.body;
  // An empty file is a file (Content-Length: 0); a request without any body is not an upload.
  if (!body || (length === undefined && c.req.header('transfer-encoding') === undefined)) {
    throw new ApiError(400, 'validation_failed', 'The request body is the file.');
  }
  if (c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase() !== 'application/octet-stream') {
    throw new ApiError(415, 'unsupported_media_type', 'Send the file itself as the body, with Content-Type: application/octet-stream.');
  }
  if (Number(length) > maxBytes) throw new ApiError(413, 'payload_too_large', `A file may hold at most ${maxBytes} bytes.`);
  return body as WebReadableStream<Uint8Array>;
}
