import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicaFence } from '../../src/redis/replicas.js';
import { command, LocalSentinels } from './support/topology.js';

let set: LocalSentinels;
let writer: Redis;
let fenceConnection: Redis;
let queue: Queue;
let fence: ReplicaFence;

beforeAll(async () => {
  set = await LocalSentinels.start();
  const options = { sentinels: set.sentinels, name: set.name, maxRetriesPerRequest: null };
  writer = new Redis(options);
  fenceConnection = new Redis(options);
  for (const c of [writer, fenceConnection]) c.on('error', () => {});
  queue = new Queue('relay-events', { connection: writer, prefix: 'fence' });
  queue.on('error', () => {});
  fence = new ReplicaFence(fenceConnection, 'fence:relay:fence', 1, 500);
});
afterAll(async () => {
  await queue?.close();
  writer?.disconnect();
  fenceConnection?.disconnect();
  await set?.stop();
});

describe('ReplicaFence (WAIT on its own connection, group commit)', () => {
  it("covers other connections' writes: once it resolves, the replica already holds every job", async () => {
    const replica = new Redis(set.replica.port, '127.0.0.1');
    try {
      for (let round = 0; round < 20; round++) {
        const jobs = await Promise.all(
          Array.from({ length: 20 }, (_, i) => queue.add('e', { round, i }, { jobId: `r${round}-${i}` })),
        );
        await fence.wait();
        const present = await Promise.all(jobs.map((j) => replica.exists(`fence:relay-events:${j.id}`)));
        expect(present.every((n) => n === 1)).toBe(true);
      }
    } finally {
      replica.disconnect();
    }
  });

  it('shares one WAIT among concurrent callers', async () => {
    const waits = async () =>
      Number(
        /cmdstat_wait:calls=(\d+)/.exec(
          String(await command(set.master.port, 'INFO', 'commandstats')),
        )?.[1] ?? 0,
      );
    const before = await waits();
    await Promise.all(Array.from({ length: 200 }, () => fence.wait()));
    expect((await waits()) - before).toBeLessThanOrEqual(2);
  });

  it('rejects within its timeout when the replica stops acknowledging, so the write path can answer 503', async () => {
    set.replica.signal('SIGSTOP');
    try {
      await command(set.master.port, 'CLIENT', 'KILL', 'TYPE', 'replica');
      await queue.add('e', { lagging: true }, { jobId: 'lagging' });
      const started = Date.now();
      await expect(fence.wait()).rejects.toThrow(/only 0 of 1 Redis replicas acknowledged/);
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      set.replica.signal('SIGCONT');
    }
  });
});
