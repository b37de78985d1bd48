import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { readBody } from './http.js';

/** One request a destination received. */
export interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

/** What the destination does with a request: answer (status, headers, body), or hang up / never answer. */
export type DestinationReply =
  | { readonly status: number; readonly headers?: Record<string, string>; readonly body?: string }
  | 'hang'
  | 'reset';

/**
 * A service that receives deliveries, on loopback port 0: records every request and answers with
 * `reply` (200 by default). `stop` and `restart` take it down and bring it back on the same port.
 */
export class FakeDestination {
  readonly received: Received[] = [];
  reply: (r: Received) => DestinationReply = () => ({ status: 200, body: 'ok' });
  #server: Server | undefined;
  #port = 0;
  readonly #sockets = new Set<Socket>();
  readonly #hanging = new Set<ServerResponse>();

  get url(): string {
    return `http://127.0.0.1:${this.#port}/hooks/relay`;
  }

  /** Deliveries (POSTs) received, in order. */
  get posts(): Received[] {
    return this.received.filter((r) => r.method === 'POST');
  }

  async start(): Promise<this> {
    const server = createServer(async (req, res) => {
      const r: Received = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: await readBody(req),
        at: Date.now(),
      };
      this.received.push(r);
      const reply = this.reply(r);
      if (reply === 'hang') {
        this.#hanging.add(res);
        return;
      }
      if (reply === 'reset') {
        req.socket.destroy();
        return;
      }
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body ?? '');
    });
    server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(this.#port, '127.0.0.1', resolve));
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
    return this;
  }

  /** Down: the port refuses connections until `start` again (same port). */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    for (const s of this.#sockets) s.destroy();
    this.#hanging.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
