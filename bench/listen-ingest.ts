/**
 * What `GET /admin/listen` costs the ingest path: a relay (`relay start`, its own process) takes
 * signed-less webhook POSTs at a fixed rate, in rounds alternating between no listener and
 * `--listeners` SSE readers (another process); each round reports throughput, latency and the
 * relay's CPU per request (from /proc, Linux), and how many events each listener saw.
 *
 * Usage: npm run build && node dist/bench/listen-ingest.js [--rate 200] [--seconds 5] [--listeners 8] [--rounds 4]
 *   env: REDIS_URL (default redis://127.0.0.1:6379). Uses and then deletes a fresh prefix.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '5' },
    listeners: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '4' },
    read: { type: 'string' },
    token: { type: 'string' },
  },
  strict: true,
});

/** Child mode: `--read OPS_URL --token T --listeners K` opens K streams and counts events until SIGTERM. */
async function readStreams(opsUrl: string, token: string, k: number): Promise<void> {
  const counts = new Array<number>(k).fill(0);
  const stop = new AbortController();
  const reading = counts.map(async (_, i) => {
    const res = await fetch(`${opsUrl}/admin/listen`, {
      headers: { authorization: `Bearer ${token}` },
      signal: stop.signal,
    });
    process.stdout.write(`open ${res.status}\n`);
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as ReadableStream<Uint8Array>)
        counts[i] = (counts[i] ?? 0) + (decoder.decode(chunk).match(/\ndata: /g) ?? []).length;
    } catch {}
  });
  await new Promise((r) => process.once('SIGTERM', r));
  stop.abort();
  await Promise.allSettled(reading);
  process.stdout.write(`counts ${counts.join(',')}\n`);
}

async function main(): Promise<void> {
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const k = Number(values.listeners);
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `bench-listen-${process.pid}`;
  const token = 'bench-listen-admin-token-0123456789';
  const config = join(mkdtempSync(join(tmpdir(), 'relay-bench-listen-')), 'relay.yaml');
  writeFileSync(
    config,
    JSON.stringify({
      server: { port: 0, opsPort: 0, host: '127.0.0.1', opsHost: '127.0.0.1', rateLimit: { enabled: false } },
      redis: { url: redisUrl, prefix },
      admin: { token },
      channels: { webhook: [{ group: 'bench', trigger: 'listen', auth: { scheme: 'none' } }] },
    }),
  );
  const bin = resolve(import.meta.dirname, '../../bin/relay.js');
  const relay = spawn(process.execPath, [bin, 'start', '--config', config], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LOG_LEVEL: 'info' },
  });
  const ready = await new Promise<{ public: string; ops: string }>((done) => {
    let out = '';
    relay.stdout?.on('data', (d) => {
      out += String(d);
      const line = /\{[^\n]*"relay ready"[^\n]*\}/.exec(out);
      if (line) done(JSON.parse(line[0]));
    });
  });
  const cpuMs = () => {
    const fields = (readFileSync(`/proc/${relay.pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, in 10 ms ticks
  };

  async function load() {
    let ok = 0;
    let bad = 0;
    const started = Date.now();
    const cpu0 = cpuMs();
    const latencies: number[] = [];
    const inflight = new Set<Promise<void>>();
    for (let i = 0; i < seconds * rate; i += 1) {
      const wait = started + (i * 1000) / rate - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const sent = performance.now();
      const request: Promise<void> = fetch(`${ready.public}/webhook/bench/listen`, {
        method: 'POST',
        body: '{"hello":"world"}',
        headers: { 'content-type': 'application/json' },
      })
        .then(async (res) => {
          await res.arrayBuffer();
          if (res.status === 202) ok += 1;
          else bad += 1;
          latencies.push(performance.now() - sent);
        })
        .catch(() => {
          bad += 1;
        })
        .finally(() => inflight.delete(request));
      inflight.add(request);
    }
    await Promise.all(inflight);
    latencies.sort((a, b) => a - b);
    const at = (q: number) => Number((latencies[Math.floor(latencies.length * q)] ?? 0).toFixed(1));
    return {
      rps: Math.round(ok / ((Date.now() - started) / 1000)),
      bad,
      relayCpuMsPerRequest: Number(((cpuMs() - cpu0) / ok).toFixed(3)),
      p50ms: at(0.5),
      p99ms: at(0.99),
    };
  }

  await load(); // warm-up
  for (let round = 0; round < Number(values.rounds) * 2; round += 1) {
    const listeners = round % 2 === 0 ? 0 : k;
    let reader: ChildProcess | undefined;
    let out = '';
    if (listeners > 0) {
      reader = spawn(
        process.execPath,
        [import.meta.filename, '--read', ready.ops, '--token', token, '--listeners', String(listeners)],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      reader.stdout?.on('data', (d) => {
        out += String(d);
      });
      while ((out.match(/open 200/g) ?? []).length < listeners) await new Promise((r) => setTimeout(r, 50));
    }
    const result = await load();
    let seenByEach: string | undefined;
    if (reader) {
      await new Promise((r) => setTimeout(r, 1000));
      reader.kill('SIGTERM');
      await new Promise((r) => reader?.once('exit', r));
      seenByEach = /counts (.*)/.exec(out)?.[1];
    }
    console.log(JSON.stringify({ listeners, ...result, ...(seenByEach ? { seenByEach } : {}) }));
  }

  relay.kill('SIGTERM');
  await new Promise((r) => relay.once('exit', r));
  const redis = new Redis(redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
}

if (values.read) await readStreams(values.read, values.token ?? '', Number(values.listeners));
else await main();
