import type { ServerResponse } from 'node:http';
import type { IngressReply } from './ingress.js';

/** express's `res.send` of a string: the media type gets `charset=utf-8`. */
function withCharset(type: string): string {
  return /;\s*charset=/i.test(type) ? type : `${type}; charset=utf-8`;
}

/**
 * The one reply writer of both ports: status, type and body as express's `res.send` wrote them,
 * straight to node's response (one `writeHead` + `end`; headers set before are kept). A string is
 * sent as text, anything else as JSON.
 */
export function writeReply(res: ServerResponse, reply: IngressReply, extra?: Record<string, string>): void {
  const headers: Record<string, string | number> = { ...reply.headers, ...extra };
  const { status } = reply;
  if (reply.body === undefined || status === 204 || status === 304) {
    if (status !== 204 && status !== 304) headers['content-length'] = 0;
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  headers['content-type'] = withCharset(
    reply.contentType ?? (typeof reply.body === 'string' ? 'text/plain' : 'application/json'),
  );
  headers['content-length'] = Buffer.byteLength(text);
  res.writeHead(status, headers);
  res.end(text);
}

/** `{ "error": message }` with the status. */
export function writeError(
  res: ServerResponse,
  status: number,
  message: string,
  extra?: Record<string, string>,
): void {
  writeReply(res, { status, body: { error: message } }, extra);
}

/** The ops port's name for `writeError` (admin API, dashboard). */
export const sendError = (res: ServerResponse, status: number, message: string): void =>
  writeError(res, status, message);
