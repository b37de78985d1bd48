import { afterEach, describe, expect, it } from 'vitest';
import {
  acceptedIds,
  histogram,
  percentile,
  runLoad,
  send,
  signedRequest,
  triggerPath,
} from './support/load.js';
import { type FaultRelay, JobChecker, type RedisSection, startFaultRelay } from './support/relay.js';
import { command, LocalSentinels, until } from './support/topology.js';

let set: LocalSentinels | undefined;
let relay: FaultRelay | undefined;
let jobs: JobChecker | undefined;

/**
 * `minReplicas` 0 for the promotion test: with one replica, the promoted master has none left, and
 * the default (1 with sentinels) would answer 503 until a replica is back — durability first.
 */
async function start(
  minReplicas?: number,
): Promise<{ set: LocalSentinels; relay: FaultRelay; jobs: JobChecker }> {
  set = await LocalSentinels.start();
  const section: RedisSection = {
    sentinels: set.sentinels,
    name: set.name,
    prefix: 'faults',
    ...(minReplicas === undefined ? {} : { minReplicas }),
  };
  relay = await startFaultRelay(section);
  jobs = new JobChecker(section);
  return { set, relay, jobs };
}

afterEach(async () => {
  await relay?.stop();
  await jobs?.close();
  await set?.stop();
  relay = undefined;
  jobs = undefined;
  set = undefined;
});

const ready = async (r: FaultRelay) => (await fetch(`${r.opsUrl}/readyz`)).status === 200;

describe('Redis Sentinel (master + replica, AOF always, 3 sentinels)', () => {
  it('follows the promotion when the master is SIGKILLed under load, 503 during the switch, nothing acknowledged lost', async () => {
    const { set, relay, jobs } = await start(0);
    let done = false;
    const load = runLoad({ url: relay.url, concurrency: 16, stop: () => done });
    await new Promise((r) => setTimeout(r, 1500));
    const killedAt = Date.now();
    await set.master.kill();
    await until(
      'the sentinels to promote the replica',
      async () => (await set.masterPort()) === set.replica.port,
      30_000,
    );
    const promotedAt = Date.now();
    await until('the relay to be ready on the new master', () => ready(relay), 15_000).catch(() => {});
    await new Promise((r) => setTimeout(r, 2000));
    done = true;
    const outcomes = await load;

    const summary = histogram(outcomes);
    const refused = outcomes.filter((o) => o.status === 503);
    const firstAfter = Math.min(
      ...outcomes.filter((o) => o.status === 202 && o.startedAt >= promotedAt).map((o) => o.startedAt + o.ms),
    );
    const accepted = acceptedIds(outcomes);
    const missing = await jobs.missing(accepted, 5000);
    console.info('sentinel failover', {
      summary,
      promotionMs: promotedAt - killedAt,
      resumedAfterPromotionMs: firstAfter - promotedAt,
      max503ms: Math.max(...refused.map((o) => o.ms)),
      p99_503ms: percentile(
        refused.map((o) => o.ms),
        99,
      ),
      acknowledged: accepted.length,
      lostAcknowledged: missing.length,
    });

    expect(Object.keys(summary).sort()).toEqual(['202', '503']);
    for (const o of refused) {
      expect(o.retryAfter).toMatch(/^\d+$/);
      expect(o.ms).toBeLessThanOrEqual(2000);
    }
    expect(firstAfter - promotedAt).toBeLessThan(5000);
    expect(acceptedIds(outcomes.filter((o) => o.startedAt > promotedAt)).length).toBeGreaterThan(50);
    expect(missing).toEqual([]);
  });

  // Replication is asynchronous: a master that acknowledges before its replica has the write can
  // die and take it along. With sentinels the relay waits for one replica (redis.minReplicas, WAIT
  // on its own connection) before the 2xx, so a lagging replica turns into 503s, never a loss.
  it('a lagging replica at failover: requests are answered 503, nothing acknowledged is lost', async () => {
    const { set, relay, jobs } = await start();
    const accepted: string[] = [];
    set.replica.signal('SIGSTOP');
    try {
      await command(set.master.port, 'CLIENT', 'KILL', 'TYPE', 'replica');
      for (let i = 0; i < 20; i++) {
        const { body, headers } = signedRequest(i);
        const res = await send(relay.url + triggerPath, body, headers, 10_000);
        expect([202, 503]).toContain(res.status);
        accepted.push(...res.ids);
      }
      await set.master.kill();
    } finally {
      set.replica.signal('SIGCONT');
    }
    await until(
      'the sentinels to promote the replica',
      async () => (await set.masterPort()) === set.replica.port,
      30_000,
    );
    await until('the relay to be ready on the new master', () => ready(relay), 15_000);
    const missing = await jobs.missing(accepted, 3000);
    console.info('sentinel lagging replica', { acknowledged: accepted.length, lost: missing.length });
    expect(missing).toEqual([]);
    expect(accepted).toHaveLength(0);
  });
});
