import { afterEach, describe, expect, it } from 'vitest';
import { eventId } from '../../src/queue/envelope.js';
import {
  eventsApiEnvelope,
  type FakeSlackSocket,
  messageEvent,
  type SocketEnvelope,
  startFakeSlackSocket,
} from '../../test/fakes/slack-socket.js';
import { TestRedisServer } from '../../test/support/redis-server.js';
import { startTestRelay, type TestRelay, uniquePrefix } from '../../test/support/relay.js';
import { until } from '../../test/support/until.js';

const appToken = 'xapp-1-A0FAKEAPP1-1-replica-test-token';
const config = (apiUrl: string) => ({
  channels: { slack: [{ account: 'acme', signingSecret: 'replica-signing-secret', appToken, apiUrl }] },
});
const idOf = (n: string | number) => eventId('slack', 'acme', `Ev0SOCKET${n}`);

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function fakeSlack(): Promise<FakeSlackSocket> {
  const fake = await startFakeSlackSocket(appToken);
  cleanups.push(() => fake.close());
  return fake;
}

/** Re-sends, as Slack retries, until the envelope is acknowledged. */
async function sendUntilAcked(fake: FakeSlackSocket, envelope: SocketEnvelope): Promise<void> {
  const started = Date.now();
  while (fake.acksOf(envelope.envelope_id).length === 0) {
    if (Date.now() - started > 15_000) throw new Error(`${envelope.envelope_id} never acknowledged`);
    fake.send(envelope);
    await until(() => fake.acksOf(envelope.envelope_id).length > 0, 1000).catch(() => {});
  }
}

async function jobsWithId(t: TestRelay, id: string): Promise<number> {
  return (await t.jobs()).filter((e) => e.id === id).length;
}

describe('slack socket mode: ack only after Redis has the event', () => {
  it('sends no ack while Redis hangs or is gone; the re-sent envelope is then acked and makes one job', async () => {
    const redis = await TestRedisServer.start();
    cleanups.push(() => redis.stop());
    const fake = await fakeSlack();
    const t = await startTestRelay(config(fake.apiUrl), { env: { REDIS_URL: redis.url } });
    cleanups.push(() => t.close());
    await fake.waitForConnections(1);
    const refused = (envelopeId: string) =>
      t.logs.some((l) => l.includes(envelopeId) && l.includes('could not queue a Socket Mode envelope'));

    // One event first: a BullMQ queue whose first use meets a hung Redis stays broken until restart
    // (its version check fails once and is cached), a src/queue issue outside this loop.
    const warm = eventsApiEnvelope(messageEvent('redis-warm'));
    fake.send(warm);
    await fake.waitForAck(warm.envelope_id);

    // Redis hangs: the write times out, nothing is acknowledged.
    redis.signal('SIGSTOP');
    const hung = eventsApiEnvelope(messageEvent('redis-hung'));
    try {
      fake.send(hung);
      await until(() => refused(hung.envelope_id), 10_000, 'the refused write');
      expect(fake.acksOf(hung.envelope_id)).toEqual([]);
    } finally {
      redis.signal('SIGCONT');
    }
    await sendUntilAcked(fake, hung);
    expect(fake.acksOf(hung.envelope_id)).toHaveLength(1);
    expect(await jobsWithId(t, idOf('redis-hung'))).toBe(1);

    // Redis is gone: the write fails at once, nothing is acknowledged.
    await redis.kill();
    const gone = eventsApiEnvelope(messageEvent('redis-gone'));
    fake.send(gone);
    await until(() => refused(gone.envelope_id), 10_000, 'the refused write');
    expect(fake.acksOf(gone.envelope_id)).toEqual([]);
    await redis.startProcess();
    await sendUntilAcked(fake, gone);
    expect(await jobsWithId(t, idOf('redis-gone'))).toBe(1);
    expect(await jobsWithId(t, idOf('redis-hung'))).toBe(1);
  });
});

describe('slack socket mode: two replicas', () => {
  it('only the lease holder connects; stopping it hands the socket over and loses or doubles nothing', async () => {
    const fake = await fakeSlack();
    const prefix = uniquePrefix('slack-sm');
    const leaseTtlMs = 1500;
    const a = await startTestRelay(config(fake.apiUrl), { prefix, leaseTtlMs });
    const b = await startTestRelay(config(fake.apiUrl), { prefix, leaseTtlMs });
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    await fake.waitForConnections(1);
    const statusOf = (r: TestRelay) => r.relay.loops.statuses[0];
    // Both have looked at the lease and agree on the holder; give the standby a few more tries.
    await until(() => statusOf(a)?.holder != null && statusOf(a)?.holder === statusOf(b)?.holder);
    await new Promise((r) => setTimeout(r, 3 * (leaseTtlMs / 5)));
    expect(fake.connectionsTotal).toBe(1);
    expect(fake.opens).toHaveLength(1);
    const [holder, standby] = statusOf(a)?.running ? [a, b] : [b, a];
    expect(statusOf(standby)?.running).toBe(false);

    const envelopes = Array.from({ length: 40 }, (_, i) => eventsApiEnvelope(messageEvent(`replica-${i}`)));
    for (const e of envelopes.slice(0, 20)) fake.send(e);
    await until(() => envelopes.slice(0, 20).every((e) => fake.acksOf(e.envelope_id).length > 0));

    // The rest arrive while the holder stops: some in flight on its socket, some with no socket open.
    const sending = (async () => {
      for (const e of envelopes.slice(20)) {
        fake.send(e);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const stoppedAt = Date.now();
    await holder.relay.close();
    await fake.waitForConnections(2);
    const handoverMs = Date.now() - stoppedAt;
    await sending;
    await until(() => envelopes.every((e) => fake.acksOf(e.envelope_id).length > 0), 15_000, 'all acks');

    expect(handoverMs).toBeLessThan(leaseTtlMs);
    expect(fake.connectionsTotal).toBe(2);
    expect(statusOf(standby)?.running).toBe(true);
    const jobs = await standby.jobs();
    expect(jobs).toHaveLength(40);
    expect(new Set(jobs.map((j) => j.id))).toEqual(new Set(envelopes.map((_, i) => idOf(`replica-${i}`))));
    console.log(`slack socket mode: handover to the standby replica took ${handoverMs} ms`);
  });
});
