import { describe, expect, it } from 'vitest';
import { acceptedIds, histogram, percentile, runLoad } from './support/load.js';
import { ackModes, useFaultStack } from './support/stack.js';
import { until } from './support/topology.js';

describe.each(ackModes)(
  'Redis SIGKILLed and restarted under 16 concurrent senders (%s)',
  (_mode, relayConfig) => {
    const stack = useFaultStack({ relay: relayConfig });
    const readyz = async () => {
      const res = await fetch(`${stack.relay.opsUrl}/readyz`, { signal: AbortSignal.timeout(5000) });
      return { status: res.status, body: (await res.json()) as { reasons?: string[] } };
    };

    it('503s fast while down, resumes within 5 s of Redis returning, and every 2xx is a job', async () => {
      let done = false;
      const load = runLoad({ url: stack.relay.url, concurrency: 16, stop: () => done });

      await new Promise((r) => setTimeout(r, 1500));
      const killedAt = Date.now();
      await stack.redis.kill();
      await new Promise((r) => setTimeout(r, 500));
      const whileDown = await readyz();
      await new Promise((r) => setTimeout(r, 2500));
      await stack.redis.startProcess(); // same port, same directory: the append-only file comes back
      const backAt = Date.now();

      // Two more seconds of load once the relay is ready again (10 s at most), then stop.
      await until(
        'readiness after Redis returned',
        async () => (await readyz()).status === 200,
        10_000,
      ).catch(() => {});
      await new Promise((r) => setTimeout(r, 2000));
      done = true;
      const outcomes = await load;

      const summary = histogram(outcomes);
      const during = outcomes.filter((o) => o.startedAt > killedAt + 100 && o.startedAt + o.ms < backAt);
      const refused = outcomes.filter((o) => o.status === 503);
      const firstAfter = Math.min(
        ...outcomes.filter((o) => o.status === 202 && o.startedAt >= backAt).map((o) => o.startedAt + o.ms),
      );
      console.info('redis restart', {
        summary,
        during: during.length,
        p99_503_ms: percentile(
          refused.map((o) => o.ms),
          99,
        ),
        max_503_ms: Math.max(...refused.map((o) => o.ms)),
        resumed_ms: firstAfter - backAt,
      });

      expect(Object.keys(summary).sort()).toEqual(['202', '503']);
      expect(during.length).toBeGreaterThan(16);
      expect(during.filter((o) => o.status !== 503)).toEqual([]);
      for (const o of refused) {
        expect(o.retryAfter).toMatch(/^\d+$/);
        expect(o.ms).toBeLessThanOrEqual(2000);
      }
      expect(whileDown.status).toBe(503);
      expect(whileDown.body.reasons?.some((r) => r.startsWith('redis'))).toBe(true);
      expect(firstAfter - backAt).toBeLessThan(5000);
      expect((await readyz()).status).toBe(200);

      const accepted = acceptedIds(outcomes);
      expect(acceptedIds(outcomes.filter((o) => o.startedAt < killedAt)).length).toBeGreaterThan(50);
      expect(acceptedIds(outcomes.filter((o) => o.startedAt >= backAt)).length).toBeGreaterThan(50);
      const missing = await stack.jobs.missing(accepted);
      // If this ever fails, what the pump said is the first thing to read.
      if (missing.length > 0)
        console.info(stack.relay.proc.stdout.filter((l) => /journal|pump/i.test(l)).join('\n'));
      expect(missing).toEqual([]);
    });
  },
);
