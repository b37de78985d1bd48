import { describe, expect, it } from 'vitest';
import { quietClient as quietClientWithin } from '../support/quiet-client.js';
import { runLoad, send, signedRequest, triggerPath } from './support/load.js';
import { deepNesting, type Probe, prng, probe } from './support/probes.js';
import { closeProbeAgent, type ProbeResult, sendAll } from './support/send-probe.js';
import { useFaultStack } from './support/stack.js';

const quietClient = (url: string, opening: string) => quietClientWithin(url, opening, 90_000);

const stack = useFaultStack({ onClose: closeProbeAgent });

/** More rounds show whether memory plateaus: FAULTS_HOSTILE_ROUNDS=8 npm run test:faults. */
const rounds = Number(process.env.FAULTS_HOSTILE_ROUNDS ?? 3);
const perRound = 1200;

describe('hostile input', () => {
  it('answers every request below 500, queues nothing unsigned, stays flat in memory, and still serves', async () => {
    const rand = prng(7);
    const slowHeaders = quietClient(
      stack.relay.url,
      `POST ${triggerPath} HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n`,
    );
    const slowBody = quietClient(
      stack.relay.url,
      `POST ${triggerPath} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"n":`,
    );

    const startRss = stack.relay.rssMiB();
    // Warm-up to steady state: valid traffic, then the first hostile round.
    let warm = 0;
    const valid = await runLoad({ url: stack.relay.url, concurrency: 16, stop: () => warm++ >= 500 });
    const results: ProbeResult[] = [];
    const rss: number[] = [stack.relay.rssMiB()];
    for (let r = 0; r < rounds; r++) {
      const probes: Probe[] = Array.from({ length: perRound }, (_, i) => probe(r * perRound + i, rand));
      results.push(...(await sendAll(new URL(stack.relay.url), probes, 16)));
      rss.push(stack.relay.rssMiB());
    }

    // The quiet clients have been holding their sockets the whole time; a valid request still passes.
    const after = signedRequest(1);
    const ok = await send(stack.relay.url + triggerPath, after.body, after.headers, 5000);
    const [headers, body] = await Promise.all([slowHeaders, slowBody]);

    const byLabel = new Map<string, Record<number, number>>();
    for (const r of results) {
      const counts = byLabel.get(r.label) ?? {};
      counts[r.status] = (counts[r.status] ?? 0) + 1;
      byLabel.set(r.label, counts);
    }
    console.info('hostile', {
      probes: results.length,
      rssMiB: { atStart: Math.round(startRss), afterWarmUpAndEachRound: rss.map((m) => Math.round(m)) },
      slowHeaders: headers,
      slowBody: body,
      statuses: Object.fromEntries(byLabel),
    });

    expect(results.length).toBe(rounds * perRound);
    expect(results.filter((r) => r.status >= 500 || r.status < 0)).toEqual([]);
    expect(results.filter((r) => r.status >= 200 && r.status < 300 && !r.mayAccept)).toEqual([]);
    expect(ok.status).toBe(202);

    // Nothing but the 2xx became a job: the queue holds exactly the acknowledged ids.
    const accepted = [...valid.flatMap((o) => o.ids), ...results.flatMap((r) => r.ids), ...ok.ids];
    expect(await stack.jobs.missing(accepted)).toEqual([]);
    expect((await stack.jobs.allIds()).sort()).toEqual([...new Set(accepted)].sort());

    // Memory: the first round pays for JIT, heap growth and socket buffers; the next identical rounds
    // must not keep growing. V8 collects lazily, so RSS moves a few MiB either way. Rejected requests
    // and raw garbage measured flat (+0 to +2 MiB per round); keeping the oversized bodies (1.2 MB
    // each, 150 a round) would add ~170 MiB a round. The ~35% of probes that are accepted carry the
    // lazily growing heap (memory.test.ts shows it plateau over 36,000 requests), hence 16 MiB over two rounds.
    // The total stays within 48 MiB of the idle process: at most 16 bodies of 1.2 MB are in flight.
    const first = rss[1] ?? 0;
    const last = rss[rss.length - 1] ?? 0;
    expect(last - first).toBeLessThan(16);
    expect(last - startRss).toBeLessThan(48);

    // Quiet clients are cut off by the server's own timers (node:http headersTimeout 10 s and
    // requestTimeout 20 s, checked every 2 s), never held until the client gives up.
    expect(headers.heldMs).toBeLessThan(14_000);
    expect(body.heldMs).toBeLessThan(24_000);
    expect([0, 408]).toContain(headers.status);
    expect([0, 408]).toContain(body.status);
  });

  // JSON.parse takes any depth, but serializing the envelope overflows the stack past ~10,000
  // levels: such a body is refused as unparseable (400), never mistaken for a Redis failure (503).
  it('a signed body nested 20,000 deep is refused with 400; 1,000 deep is accepted', async () => {
    const [result] = await sendAll(new URL(stack.relay.url), [deepNesting(20_000)], 1);
    expect(result?.status).toBe(400);
    const [shallow] = await sendAll(new URL(stack.relay.url), [deepNesting(1_000)], 1);
    expect(shallow?.status).toBe(202);
  });
});
