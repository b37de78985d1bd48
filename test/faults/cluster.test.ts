import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { CursorStore } from '../../src/loops/cursor.js';
import { Lease } from '../../src/loops/lease.js';
import { createRedis, type RedisClient, waitForReady } from '../../src/redis/connection.js';
import { ReplicaFence } from '../../src/redis/replicas.js';
import { acceptedIds, histogram, percentile, runLoad, send, triggerPath } from './support/load.js';
import { type FaultRelay, JobChecker, type RedisSection, startFaultRelay } from './support/relay.js';
import { command, LocalCluster } from './support/topology.js';

const adminToken = 'cluster-admin-token-0123456789';
let cluster: LocalCluster;
let section: RedisSection;
let relay: FaultRelay;
let jobs: JobChecker;

beforeAll(async () => {
  cluster = await LocalCluster.start(3);
  section = { cluster: cluster.addresses, prefix: '{relay}' };
  relay = await startFaultRelay(section, { admin: { token: adminToken } });
  jobs = new JobChecker(section);
});
afterAll(async () => {
  await relay?.stop();
  await jobs?.close();
  await cluster?.stop();
});

/** Keys per node: with the prefix's hash tag every key the relay writes lives on one node. */
async function keysPerNode(): Promise<number[]> {
  return Promise.all(cluster.nodes.map(async (n) => Number(await command(n.port, 'DBSIZE'))));
}

describe('Redis Cluster (3 masters, prefix {relay})', () => {
  it('takes the bench load (50 connections) with every 2xx a job', async () => {
    const started = Date.now();
    const outcomes = await runLoad({
      url: relay.url,
      concurrency: 50,
      stop: () => Date.now() - started > 5000,
    });
    const summary = histogram(outcomes);
    console.info('cluster', {
      summary,
      reqPerSec: Math.round(outcomes.length / 5),
      p99ms: percentile(
        outcomes.map((o) => o.ms),
        99,
      ),
    });
    expect(Object.keys(summary)).toEqual(['202']);
    expect(outcomes.length).toBeGreaterThan(1000);
    expect(await jobs.missing(acceptedIds(outcomes))).toEqual([]);
  });

  it("keeps the relay's own keys (rejections, rate limits, run-time triggers) working, all in one slot", async () => {
    const bad = await send(`${relay.url}${triggerPath}`, '{}', { 'content-type': 'application/json' }, 5000);
    expect(bad.status).toBe(401);

    // A run-time trigger: stored in a hash, announced over pub/sub, then used.
    const put = await fetch(`${relay.opsUrl}/admin/triggers/rt/one`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scheme: 'token', secret: 'runtime-trigger-secret-01' }),
    });
    expect(put.status).toBe(201);
    let status = 0;
    let ids: readonly string[] = [];
    const deadline = Date.now() + 5000;
    while (status !== 202 && Date.now() < deadline) {
      const res = await send(
        `${relay.url}/webhook/rt/one`,
        '{"n":"runtime"}',
        { 'content-type': 'application/json', authorization: 'Bearer runtime-trigger-secret-01' },
        5000,
      );
      ({ status, ids } = res);
      if (status !== 202) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(202);
    expect(await jobs.missing(ids)).toEqual([]);

    const rejections = await fetch(`${relay.opsUrl}/admin/rejections`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(rejections.status).toBe(200);
    expect(JSON.stringify(await rejections.json())).toContain('missing_signature');

    const perNode = await keysPerNode();
    expect(perNode.filter((n) => n > 0)).toHaveLength(1);
  });

  it('runs the lease and cursor scripts (two keys each) and the replica fence on the Cluster', async () => {
    const config = parseConfig({ redis: section }, {});
    const redis: RedisClient = createRedis(config.redis, 'control', 'fault-suite');
    redis.on('error', () => {});
    try {
      await waitForReady(redis, 5000);
      const leaseKey = '{relay}:relay:lease:fault/suite';
      const lease = new Lease(redis, leaseKey, 'holder-a', 5000);
      const other = new Lease(redis, leaseKey, 'holder-b', 5000);
      expect(await lease.acquire()).toBe(true);
      expect(await other.acquire()).toBe(false);
      expect(await lease.renew()).toBe(true);
      const cursors = new CursorStore(redis, '{relay}:relay:cursors');
      expect(await cursors.set('fault/suite', '42', leaseKey, 'holder-a', Date.now())).toBe(true);
      expect(await cursors.set('fault/suite', '43', leaseKey, 'holder-b', Date.now())).toBe(false);
      expect(await cursors.get('fault/suite')).toBe('42');
      await lease.release();
      expect(await lease.holder()).toBeNull();
      // The replica fence routes to the prefix's node; this Cluster has no replicas, so WAIT says 0.
      const fence = new ReplicaFence(redis, '{relay}:relay:fence', 1, 200);
      await expect(fence.wait()).rejects.toThrow(/only 0 of 1 Redis replicas/);
    } finally {
      redis.disconnect();
    }
  });
});
