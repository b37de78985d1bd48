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
