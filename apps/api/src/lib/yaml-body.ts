/**
 * A YAML request body read into the JSON the route validates (jobs as code, ADR 22): the route's own validator then
 * checks it, with the same schema, the same unstorable-text check and the same problem details as a JSON body.
 * What YAML could add to JSON (tags, directives, several documents, alias bombs, deep nesting) is refused here, with
 * the line and column when there is one. The body limit of /api/* applies as to any body.
 */
import type { MiddlewareHandler } from 'hono';
import { isYamlMediaType, readYamlDocument } from '@opsconductor/jobs';
import type { AppEnv } from '../context.ts';
import { problemResponse } from './problem.ts';

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)/i;

export const yamlBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  const contentType = c.req.header('content-type');
  if (!isYamlMediaType(contentType)) return next();
  const charset = CHARSET.exec(contentType ?? '')?.[1];
  if (charset && !/^utf-?8$/i.test(charset)) return problemResponse(c, 415, 'unsupported_media_type', 'A YAML body must be UTF-8.');
  // Read from the raw request: HonoRequest would cache these bytes and hand them to the JSON validator below.
  const bytes = await c.req.raw.arrayBuffer();
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return problemResponse(c, 400, 'malformed_yaml', 'The body is not valid UTF-8.');
  }
  const read = readYamlDocument(text);
  if (!read.ok) {
    const where = read.line !== undefined ? `Line ${read.line}, column ${read.column}: ` : '';
    return problemResponse(c, 400, 'malformed_yaml', `${where}${read.message.replace(/[.:]?\s*$/, '')}.`);
  }
  const headers = new Headers(c.req.raw.headers);
  headers.set('content-type', 'application/json');
  headers.delete('content-length');
  // As hono/body-limit does: the request is replaced, here by its JSON equivalent.
  c.req.raw = new Request(c.req.raw.url, {
    method: c.req.raw.method,
    headers,
    body: JSON.stringify(read.value ?? null),
    signal: c.req.raw.signal,
  });
  await next();
};
