import { describe, expect, it } from 'vitest';
import { type TestRelay, uniquePrefix } from '../../test/support/relay.js';
import { until } from '../../test/support/until.js';
import { postLifecycle, startRelay, storedState, subscriptionsTestBed } from './fixtures/subscriptions.js';

const bed = subscriptionsTestBed();

/** Two replicas on one prefix; resolves once one of them holds the loop and has created the subscription. */
async function twoReplicas(): Promise<{ holder: TestRelay; other: TestRelay; prefix: string; id: string }> {
  const prefix = uniquePrefix('teams-sub');
  bed.relays.push(await startRelay(bed.fake, { prefix }), await startRelay(bed.fake, { prefix }));
  await bed.fake.waitFor('POST', '/subscriptions');
  const [id] = await until(async () => [...(await storedState(prefix)).values()].map((e) => e.id));
  const holder = bed.relays.find((t) => t.relay.loops.statuses[0]?.running);
  const other = bed.relays.find((t) => t !== holder);
  if (!holder || !other || !id) throw new Error('no holder');
  return { holder, other, prefix, id };
}

const storedId = async (prefix: string) => [...(await storedState(prefix)).values()][0]?.id;

describe('teams Graph subscriptions with two replicas', () => {
  it('one replica manages the subscriptions: one POST, one loop running', async () => {
    const { holder, other } = await twoReplicas();
    await until(() => holder.relay.loops.statuses[0]?.lastSuccess);
    expect(bed.fake.callsOf('POST', '/subscriptions')).toHaveLength(1);
    expect(bed.fake.subscriptions.size).toBe(1);
    expect(other.relay.loops.statuses[0]?.running).toBe(false);
    expect(other.relay.loops.statuses[0]?.holder).toBe(holder.relay.loops.holder);
  });

  it('reauthorizationRequired posted to the other replica makes the holder reauthorize', async () => {
    const { other, id } = await twoReplicas();
    const sentAt = Date.now();
    const res = await postLifecycle(other, bed.fake, id, 'reauthorizationRequired');
    expect(res.status).toBe(202);
    const [reauthorize] = await bed.fake.waitFor('POST', `/subscriptions/${id}/reauthorize`);
    // Inbox read every 50 ms here (1 s by default): the holder acts well within a second.
    expect((reauthorize?.at ?? Infinity) - sentAt).toBeLessThan(1000);
    // Still a teams.lifecycle job for workers, as before.
    const jobs = await other.jobs();
    expect(jobs.map((j) => j.type)).toEqual(['teams.lifecycle']);
    expect(bed.fake.callsOf('POST', '/subscriptions')).toHaveLength(1);
  });

  it('subscriptionRemoved makes the holder create the subscription again and store the new id', async () => {
    const { other, prefix, id } = await twoReplicas();
    bed.fake.subscriptions.delete(id); // Graph removed it
    expect((await postLifecycle(other, bed.fake, id, 'subscriptionRemoved')).status).toBe(202);
    await bed.fake.waitFor('POST', '/subscriptions', 2);
    const newId = await until(async () => {
      const stored = await storedId(prefix);
      return stored !== id ? stored : undefined;
    });
    expect([...bed.fake.subscriptions.keys()]).toEqual([newId]);
    // A late lifecycle item for the old id is ignored: no third subscription.
    await postLifecycle(other, bed.fake, id, 'subscriptionRemoved');
    await postLifecycle(other, bed.fake, newId, 'missed');
    await until(async () => (await storedState(prefix)).get('created chats/getallmessages')?.missed === 1);
    expect(bed.fake.callsOf('POST', '/subscriptions')).toHaveLength(2);
  });

  it('missed is logged and counted by the holder', async () => {
    const { holder, other, prefix, id } = await twoReplicas();
    await postLifecycle(other, bed.fake, id, 'missed');
    await postLifecycle(holder, bed.fake, id, 'missed');
    const entry = await until(async () => {
      const e = [...(await storedState(prefix)).values()][0];
      return e?.missed === 2 ? e : undefined;
    });
    expect(entry.id).toBe(id);
    expect(holder.logs.some((l) => l.includes('could not deliver some change notifications'))).toBe(true);
    expect(bed.fake.callsOf('POST', '/subscriptions')).toHaveLength(1);
  });

  it('a lifecycle item with a wrong clientState is rejected and does nothing', async () => {
    const { other, holder, id } = await twoReplicas();
    const res = await postLifecycle(other, bed.fake, id, 'subscriptionRemoved', 'not-the-client-state');
    expect(res.status).toBe(401);
    // A genuine one afterwards is handled; the forged one before it was never in the inbox.
    await postLifecycle(other, bed.fake, id, 'reauthorizationRequired');
    await bed.fake.waitFor('POST', `/subscriptions/${id}/reauthorize`);
    expect(bed.fake.callsOf('POST', '/subscriptions')).toHaveLength(1);
    expect(await holder.jobs()).toHaveLength(1);
  });

  it('when the holder stops, the other replica takes over and reuses the subscription', async () => {
    const { holder, other, id } = await twoReplicas();
    await holder.relay.close(); // SIGTERM-like: the lease is released, Redis keys stay
    await until(() => other.relay.loops.statuses[0]?.running);
    await bed.fake.waitFor('GET', `/subscriptions/${id}`, 1, 20_000);
    await until(() => other.relay.loops.statuses[0]?.lastSuccess);
    expect(bed.fake.callsOf('POST', '/subscriptions')).toHaveLength(1);
    await postLifecycle(other, bed.fake, id, 'reauthorizationRequired');
    await bed.fake.waitFor('POST', `/subscriptions/${id}/reauthorize`);
  });
});
