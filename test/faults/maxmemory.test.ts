import { describe, expect, it } from 'vitest';
import { acceptedIds, histogram, runLoad, send, signedRequest, triggerPath } from './support/load.js';
import { useFaultStack } from './support/stack.js';
import { command, until } from './support/topology.js';

const stack = useFaultStack();

const usedMemory = async () =>
  Number(/used_memory:(\d+)/.exec(String(await command(stack.redis.port, 'INFO', 'memory')))?.[1]);

describe('Redis maxmemory reached (noeviction)', () => {
  it('answers 503 once Redis is full, loses nothing acknowledged, and recovers when memory frees up', async () => {
    // Room for a couple of thousand events on top of what the relay already holds.
    await command(
      stack.redis.port,
      'CONFIG',
      'SET',
      'maxmemory',
      String((await usedMemory()) + 4 * 1024 * 1024),
    );
    let refused = 0;
    const startedAt = Date.now();
    const outcomes = await runLoad({
      url: stack.relay.url,
      concurrency: 16,
      stop: () => refused >= 300 || Date.now() - startedAt > 30_000,
      maxRequests: 50_000,
      onOutcome: (o) => {
        if (o.status === 503) refused++;
      },
    });
    const summary = histogram(outcomes);
    console.info('maxmemory', { summary, usedMiB: Math.round((await usedMemory()) / 1048576) });

    expect(Object.keys(summary).sort()).toEqual(['202', '503']);
    for (const o of outcomes.filter((x) => x.status === 503)) {
      expect(o.retryAfter).toMatch(/^\d+$/);
      expect(o.ms).toBeLessThanOrEqual(2000);
    }
    const accepted = acceptedIds(outcomes);
    expect(accepted.length).toBeGreaterThan(100);
    expect(refused).toBeGreaterThanOrEqual(300);
    expect(await stack.jobs.missing(accepted)).toEqual([]);

    // Memory freed (an operator raises the limit or workers drain the queue): 2xx again, no restart.
    await command(stack.redis.port, 'CONFIG', 'SET', 'maxmemory', '0');
    let last = 0;
    await until(
      'a 2xx after memory was freed',
      async () => {
        const { body, headers } = signedRequest(1);
        last = (await send(stack.relay.url + triggerPath, body, headers, 5000)).status;
        return last === 202;
      },
      5000,
    );
    expect(last).toBe(202);
  });
});
