import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventId } from '../../src/queue/envelope.js';
import { testKey } from '../../test/fakes/google-certs.js';
import { type FakePubSub, startFakePubSub } from '../../test/fakes/pubsub-api.js';
import { redisPerTest } from '../../test/support/redis-server.js';
import { startTestRelay, type TestRelay, uniquePrefix } from '../../test/support/relay.js';
import { until } from '../../test/support/until.js';
import { chatMessage } from './fixtures/events.js';
import { googlechat } from './index.js';
import { pubsubLoop } from './pubsub.js';

const subscription = 'projects/p/subscriptions/chat-events';
const email = 'relay-puller@p.iam.gserviceaccount.com';
const key = testKey();

let fake: FakePubSub;
const relays: TestRelay[] = [];
beforeEach(async () => {
  fake = await startFakePubSub({ subscription, serviceAccount: { email, publicKey: key.publicKey } });
});
afterEach(async () => {
  for (const r of relays.splice(0).reverse()) await r.close().catch(() => {});
  await fake.close();
});

/** Each relay's JWT client gets its own access token from the fake: the token tells the pullers apart. */
function serviceAccountFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'relay-sa-')), 'sa.json');
  const privateKey = key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  writeFileSync(
    file,
    JSON.stringify({ client_email: email, private_key: privateKey, token_uri: fake.tokenUrl }),
  );
  return file;
}

const jobId = (n: number) => eventId('googlechat', 'acme', `spaces/AAAAAAAAAAA/messages/m${n}`);

async function startPulling(options: { prefix?: string; env?: Record<string, string> } = {}) {
  const account = {
    account: 'acme',
    audience: '123456789012',
    subscription,
    credentials: { serviceAccountFile: serviceAccountFile() },
    apiRoot: fake.url,
  };
  const t = await startTestRelay(
    { channels: { googleChat: [account] } },
    { ...options, leaseTtlMs: 1500, channels: [{ ...googlechat, loops: (a) => [pubsubLoop(a)] }] },
  );
  relays.push(t);
  return t;
}

describe('google chat pub/sub: acknowledge only after Redis has the event', () => {
  const own = redisPerTest(relays);

  it('Redis hung (SIGSTOP): no acknowledge; once Redis is back the redelivered message makes one job, then is acked', async () => {
    const t = await startPulling({ env: { REDIS_URL: own.redis.url } });
    const first = fake.publish(chatMessage(1));
    await until(() => fake.isAcked(first));

    own.redis.signal('SIGSTOP');
    const second = fake.publish(chatMessage(2));
    await until(() => fake.delivered.includes(second));
    await until(() => t.logs.some((l) => l.includes('could not queue events')));
    // While Redis hangs the holder cannot renew its lease either, so it stops pulling after the
    // lease ttl: nothing is acknowledged meanwhile, and the message waits in Pub/Sub.
    await new Promise((r) => setTimeout(r, 1500));
    expect(fake.acks.some((a) => a.messageId === second)).toBe(false);
    const resumedAt = Date.now();
    own.redis.signal('SIGCONT');

    await until(() => fake.isAcked(second));
    const ack = fake.acks.find((a) => a.messageId === second);
    expect(ack?.at).toBeGreaterThanOrEqual(resumedAt);
    const job = await t.queue().getJob(jobId(2));
    expect(job).toBeDefined();
    expect((await t.jobs()).map((e) => e.id).sort()).toEqual([jobId(1), jobId(2)].sort());
  });
});

describe('google chat pub/sub with two relays', () => {
  it('one puller at a time; when it stops the other takes over, nothing lost or doubled', async () => {
    const prefix = uniquePrefix('chatpull');
    const a = await startPulling({ prefix });
    const b = await startPulling({ prefix });
    const ids = [1, 2, 3].map((n) => fake.publish(chatMessage(n)));
    await until(() => ids.every((id) => fake.isAcked(id)));
    const pulling = (t: TestRelay) => t.relay.loops.statuses.find((s) => s.loop === 'pubsub-pull');
    const [first, second] = pulling(a)?.running ? [a, b] : [b, a];
    expect(pulling(second)?.running).toBe(false);
    expect(fake.issued).toHaveLength(1);
    expect(new Set(fake.pulls.map((p) => p.token))).toEqual(new Set([fake.issued[0]]));

    await first.relay.close();
    ids.push(...[4, 5].map((n) => fake.publish(chatMessage(n))));
    await until(() => ids.every((id) => fake.isAcked(id)));
    expect(pulling(second)?.running).toBe(true);
    expect(fake.issued).toHaveLength(2);
    expect(fake.pulls.at(-1)?.token).toBe(fake.issued[1]);
    expect(fake.maxConcurrentPulls).toBe(1);
    expect(fake.delivered).toEqual(ids);
    expect((await second.jobs()).map((e) => e.id).sort()).toEqual([1, 2, 3, 4, 5].map(jobId).sort());
  });
});
