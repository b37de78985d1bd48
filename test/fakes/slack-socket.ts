import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { until } from '../support/until.js';
import type { FakeReply } from './http.js';

/**
 * A local stand-in for Slack's Socket Mode (https://api.slack.com/apis/socket-mode), on port 0:
 * `POST {apiUrl}apps.connections.open` with the app-level token as a Bearer header hands out a
 * one-time `ws://…/link/?ticket=…` URL; the WebSocket says `hello`, then carries the envelopes a
 * test sends and records the acks (`{ envelope_id, payload? }`) the client sends back.
 *
 * Like Slack, it keeps envelopes sent while no socket is open and delivers them on the next
 * `hello`, and re-sends an envelope that was not acknowledged when its socket closed.
 */
export interface SocketEnvelope {
  readonly envelope_id: string;
  readonly type: 'events_api' | 'interactive' | 'slash_commands';
  readonly payload: Record<string, unknown>;
  readonly accepts_response_payload: boolean;
  readonly retry_attempt?: number;
  readonly retry_reason?: string;
}

export interface RecordedAck {
  readonly envelope_id: string;
  readonly payload: unknown;
  /** performance.now() when the ack arrived. */
  readonly at: number;
}

export interface OpenCall {
  readonly authorization: string | undefined;
  readonly ok: boolean;
  /** Date.now() of the call. */
  readonly at: number;
}

export type { FakeReply };

export interface FakeSlackSocket {
  /** Use as the account's `apiUrl`. */
  readonly apiUrl: string;
  readonly opens: OpenCall[];
  readonly acks: RecordedAck[];
  /** performance.now() of the latest send of each envelope id. */
  readonly sentAt: Map<string, number>;
  /** Sockets that said hello, ever. */
  readonly connectionsTotal: number;
  /** Sockets open now. */
  openSockets(): number;
  /** Sends to the open socket, or keeps the envelope until one says hello. */
  send(envelope: SocketEnvelope): void;
  /** `{ type: 'disconnect', reason }` on every open socket. */
  disconnect(reason: 'refresh_requested' | 'warning'): void;
  /** Drops every socket without a close frame (a dead TCP connection). */
  drop(): void;
  /** The next apps.connections.open call gets this answer. */
  failNextOpen(reply: FakeReply): void;
  waitForConnections(total: number, timeoutMs?: number): Promise<void>;
  waitForAck(envelopeId: string, timeoutMs?: number): Promise<RecordedAck>;
  acksOf(envelopeId: string): RecordedAck[];
  close(): Promise<void>;
}

const appId = 'A0FAKEAPP1';

export const eventsApiEnvelope = (
  payload: Record<string, unknown>,
  retry: { attempt: number; reason: string } | undefined = undefined,
  envelopeId = randomUUID(),
): SocketEnvelope => ({
  envelope_id: envelopeId,
  type: 'events_api',
  payload,
  accepts_response_payload: false,
  retry_attempt: retry?.attempt ?? 0,
  retry_reason: retry?.reason ?? '',
});

export const interactiveEnvelope = (payload: Record<string, unknown>, envelopeId = randomUUID()) => ({
  envelope_id: envelopeId,
  type: 'interactive' as const,
  payload,
  accepts_response_payload: false,
});

export const slashCommandEnvelope = (payload: Record<string, unknown>, envelopeId = randomUUID()) => ({
  envelope_id: envelopeId,
  type: 'slash_commands' as const,
  payload,
  accepts_response_payload: true,
});

function answer(res: ServerResponse, reply: FakeReply): void {
  res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
  res.end(JSON.stringify(reply.body));
}

/** An Events API callback with a unique event_id and a message in channel C0SOCKET. */
export const messageEvent = (n: number | string): Record<string, unknown> => ({
  token: 'legacy-verification-token',
  team_id: 'T0FAKE',
  api_app_id: appId,
  event: { type: 'message', channel: 'C0SOCKET', user: 'U0USER', text: `hello ${n}`, ts: `1700000000.${n}` },
  type: 'event_callback',
  event_id: `Ev0SOCKET${n}`,
  event_time: 1700000000,
});

export async function startFakeSlackSocket(appToken: string): Promise<FakeSlackSocket> {
  const opens: OpenCall[] = [];
  const acks: RecordedAck[] = [];
  const sentAt = new Map<string, number>();
  const tickets = new Set<string>();
  const failures: FakeReply[] = [];
  const pending: SocketEnvelope[] = [];
  /** Per open socket: envelopes sent over it and not acknowledged yet. */
  const live = new Map<WebSocket, Map<string, SocketEnvelope>>();
  let connectionsTotal = 0;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/api/apps.connections.open')) {
        answer(res, { status: 404, body: { ok: false, error: 'unknown_method' } });
        return;
      }
      const authorization = req.headers.authorization;
      const failure = failures.shift();
      // https://api.slack.com/methods/apps.connections.open: errors come as 200 with ok: false.
      const reply: FakeReply =
        failure ??
        (authorization === undefined
          ? { status: 200, body: { ok: false, error: 'not_authed' } }
          : authorization !== `Bearer ${appToken}`
            ? { status: 200, body: { ok: false, error: 'invalid_auth' } }
            : (() => {
                const ticket = randomUUID();
                tickets.add(ticket);
                return {
                  status: 200,
                  body: { ok: true, url: `ws://127.0.0.1:${port()}/link/?ticket=${ticket}&app_id=${appId}` },
                };
              })());
      opens.push({ authorization, ok: (reply.body as { ok?: unknown }).ok === true, at: Date.now() });
      answer(res, reply);
    });
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const ticket = url.searchParams.get('ticket') ?? '';
    // A ticket works once, as Slack's do.
    if (url.pathname !== '/link/' || !tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws));
  });

  function deliver(ws: WebSocket, envelope: SocketEnvelope): void {
    live.get(ws)?.set(envelope.envelope_id, envelope);
    sentAt.set(envelope.envelope_id, performance.now());
    ws.send(JSON.stringify(envelope));
  }

  function onConnection(ws: WebSocket): void {
    const unacked = new Map<string, SocketEnvelope>();
    live.set(ws, unacked);
    connectionsTotal++;
    ws.on('message', (data) => {
      const at = performance.now();
      const message = JSON.parse(String(data)) as { envelope_id?: unknown; payload?: unknown };
      if (typeof message.envelope_id !== 'string') return;
      unacked.delete(message.envelope_id);
      acks.push({ envelope_id: message.envelope_id, payload: message.payload, at });
    });
    ws.on('close', () => {
      live.delete(ws);
      // Slack retries what was not acknowledged, on whichever connection comes next.
      for (const envelope of unacked.values()) fake.send(envelope);
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: live.size,
        debug_info: { host: 'applink-fake-1', approximate_connection_time: 18060 },
        connection_info: { app_id: appId },
      }),
    );
    for (const envelope of pending.splice(0)) deliver(ws, envelope);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = () => (server.address() as AddressInfo).port;

  const fake: FakeSlackSocket = {
    apiUrl: `http://127.0.0.1:${port()}/api/`,
    opens,
    acks,
    sentAt,
    get connectionsTotal() {
      return connectionsTotal;
    },
    openSockets: () => live.size,
    send(envelope) {
      const ws = [...live.keys()].find((s) => s.readyState === s.OPEN);
      if (ws) deliver(ws, envelope);
      else pending.push(envelope);
    },
    disconnect(reason) {
      for (const ws of live.keys())
        ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-fake-1' } }));
    },
    drop() {
      for (const ws of live.keys()) ws.terminate();
    },
    failNextOpen(reply) {
      failures.push(reply);
    },
    async waitForConnections(total, timeoutMs = 10_000) {
      await until(() => connectionsTotal >= total && live.size > 0, timeoutMs, `${total} connections`);
    },
    async waitForAck(envelopeId, timeoutMs = 10_000) {
      await until(() => acks.some((a) => a.envelope_id === envelopeId), timeoutMs, `ack of ${envelopeId}`);
      return acks.find((a) => a.envelope_id === envelopeId) as RecordedAck;
    },
    acksOf: (envelopeId) => acks.filter((a) => a.envelope_id === envelopeId),
    async close() {
      for (const ws of live.keys()) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
  return fake;
}
