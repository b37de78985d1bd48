import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a fake provider answers: a status, a JSON body, and headers (Retry-After, …). */
export interface FakeReply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The reply as JSON, with the provider's own media type. */
export function sendJson(res: ServerResponse, reply: FakeReply, contentType = 'application/json'): void {
  res.writeHead(reply.status, { 'content-type': contentType, ...reply.headers });
  res.end(JSON.stringify(reply.body));
}

/** Failures a test queued per call kind (`failNext`), each answered once, in order, instead of the real reply. */
export class FailureQueue<K extends string = string> {
  readonly #queued = new Map<K, FakeReply[]>();

  add(kind: K, reply: FakeReply): void {
    this.#queued.set(kind, [...(this.#queued.get(kind) ?? []), reply]);
  }

  take(kind: K): FakeReply | undefined {
    return this.#queued.get(kind)?.shift();
  }
}

/** One call a fake recorded: what kind it was, which of its endpoints took it, and what it carried. */
export interface RecordedCall<K extends string> {
  readonly kind: K;
  readonly endpoint: number;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly form: URLSearchParams | undefined;
  readonly authorization: string | undefined;
  readonly at: number;
}
