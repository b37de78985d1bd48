import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestRedisServer } from '../support/redis-server.js';
import { acceptedIds, histogram, runLoad, send, signedRequest, triggerPath } from './support/load.js';
import { type FaultRelay, JobChecker, type RedisSection, startFaultRelay } from './support/relay.js';
import { command, durableArgs, until } from './support/topology.js';

let redis: TestRedisServer;
let relay: FaultRelay;
let jobs: JobChecker;

beforeAll(async () => {
  redis = await TestRedisServer.start(durableArgs);
  const section: RedisSection = { url: redis.url, prefix: 'faults' };
  relay = await startFaultRelay(section);
  jobs = new JobChecker(section);
});
afterAll(async () => {
  await relay?.stop();
  await jobs?.close();
  await redis?.destroy();
});

const usedMemory = async () =>
  Number(/used_memory:(\d+)/.exec(String(await command(redis.port, 'INFO', 'memory')))?.[1]);

describe('Redis maxmemory reached (noeviction)', () => {
  it('answers 503 once Redis is full, loses nothing acknowledged, and recovers when memory frees up', async () => {
    // Room for a couple of thousand events on top of what the relay already holds.
    await command(redis.port, 'CONFIG', 'SET', 'maxmemory', String((await usedMemory()) + 4 * 1024 * 1024));
    let refused = 0;
    const startedAt = Date.now();
    const outcomes = await runLoad({
      url: relay.url,
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
    expect(await jobs.missing(accepted)).toEqual([]);

    // Memory freed (an operator raises the limit or workers drain the queue): 2xx again, no restart.
    await command(redis.port, 'CONFIG', 'SET', 'maxmemory', '0');
    let last = 0;
    await until(
      'a 2xx after memory was freed',
      async () => {
        const { body, headers } = signedRequest(1);
        last = (await send(relay.url + triggerPath, body, headers, 5000)).status;
        return last === 202;
      },
      5000,
    );
    expect(last).toBe(202);
  });
});
