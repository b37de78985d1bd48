import { Agent, request } from 'node:http';
import { Socket } from 'node:net';
import type { Probe } from './probes.js';

export interface ProbeResult {
  readonly label: string;
  /** HTTP status; 0 when the server closed without one (fine for garbage), -1 when it never answered. */
  readonly status: number;
  readonly ids: readonly string[];
  readonly mayAccept: boolean;
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

export function sendProbe(base: URL, p: Probe, hangMs = 15_000): Promise<ProbeResult> {
  return p.kind === 'http' ? sendHttp(base, p, hangMs) : sendRaw(base, p, hangMs);
}

function sendHttp(base: URL, p: Extract<Probe, { kind: 'http' }>, hangMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const done = (status: number, ids: string[] = []) =>
      resolve({ label: p.label, status, ids, mayAccept: p.mayAccept ?? false });
    const req = request(
      {
        host: base.hostname,
        port: base.port,
        agent,
        method: p.method,
        path: p.path,
        headers: { ...p.headers, 'content-length': String(p.body.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          let ids: string[] = [];
          if (status >= 200 && status < 300 && p.method !== 'HEAD') {
            try {
              ids = (JSON.parse(Buffer.concat(chunks).toString()) as { ids?: string[] }).ids ?? [];
            } catch {
              ids = [];
            }
          }
          done(status, ids);
        });
        res.on('error', () => done(res.statusCode ?? 0));
      },
    );
    // The server may answer 413 and close before the whole body is written: that is an answer.
    req.on('error', () => done(0));
    req.setTimeout(hangMs, () => {
      req.destroy();
      done(-1);
    });
    req.end(p.body);
  });
}

function sendRaw(base: URL, p: Extract<Probe, { kind: 'raw' }>, hangMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let received = '';
    let settled = false;
    const done = (status: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ label: p.label, status, ids: [], mayAccept: false });
    };
    const timer = setTimeout(() => done(-1), hangMs);
    const statusOf = () => Number(/^HTTP\/1\.[01] (\d{3})/.exec(received)?.[1] ?? 0);
    socket.on('data', (d: Buffer) => {
      received += d.toString('latin1');
    });
    socket.on('error', () => done(statusOf()));
    socket.on('close', () => done(statusOf()));
    socket.connect(Number(base.port), base.hostname, () => {
      socket.write(p.bytes);
      if (p.end) socket.end();
    });
  });
}

/** Sends `probes` with `concurrency` at a time; results in order. */
export async function sendAll(
  base: URL,
  probes: readonly Probe[],
  concurrency: number,
): Promise<ProbeResult[]> {
  const results: ProbeResult[] = new Array(probes.length);
  let next = 0;
  const worker = async () => {
    while (next < probes.length) {
      const i = next++;
      const p = probes[i];
      if (p) results[i] = await sendProbe(base, p);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

export function closeProbeAgent(): void {
  agent.destroy();
}
