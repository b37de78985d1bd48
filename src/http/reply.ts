import type { ServerResponse } from 'node:http';
import type { Response } from 'express';
import type { IngressReply } from './ingress.js';

export function sendReply(res: Response, reply: IngressReply): void {
  res.status(reply.status);
  if (reply.headers) res.set(reply.headers);
  if (reply.body === undefined) {
    res.end();
  } else if (typeof reply.body === 'string') {
    res.type(reply.contentType ?? 'text/plain; charset=utf-8').send(reply.body);
  } else {
    res.type(reply.contentType ?? 'application/json').send(JSON.stringify(reply.body));
  }
}

export function sendError(res: Response, status: number, message: string): void {
  sendReply(res, { status, body: { error: message } });
}

/** express's `res.send` of a string: the media type gets `charset=utf-8`. */
function withCharset(type: string): string {
  return /;\s*charset=/i.test(type) ? type : `${type}; charset=utf-8`;
}

/**
 * The same answer as `sendReply`, byte for byte in status, type and body, written straight to
 * node's response (one `writeHead` + `end`): the provider routes' lean path.
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

export function writeError(
  res: ServerResponse,
  status: number,
  message: string,
  extra?: Record<string, string>,
): void {
  writeReply(res, { status, body: { error: message } }, extra);
}
