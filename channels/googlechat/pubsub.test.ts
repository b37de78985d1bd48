import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CredentialError } from '../../src/errors.js';
import { eventId } from '../../src/queue/envelope.js';
import { testKey } from '../../test/fakes/google-certs.js';
import { type FakePubSub, googleError, startFakePubSub } from '../../test/fakes/pubsub-api.js';
import { loopHarness } from '../../test/support/loop-harness.js';
import { startTestRelay, type TestRelay } from '../../test/support/relay.js';
import { until } from '../../test/support/until.js';
import { googleChatAccount } from './config.js';
import { chatEvent, chatMessage } from './fixtures/events.js';
import { googlechat } from './index.js';
import { pubsubLoop } from './pubsub.js';

const subscription = 'projects/p/subscriptions/chat-events';
const staticToken = 'ya29.static-token-for-tests-0123456789';
const email = 'relay-puller@p.iam.gserviceaccount.com';
const key = testKey();

let fake: FakePubSub;
let t: TestRelay | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  await fake?.close();
});

const startFake = async () => {
  fake = await startFakePubSub({
    subscription,
    acceptTokens: [staticToken],
    serviceAccount: { email, publicKey: key.publicKey },
  });
  return fake;
};

/** A service account key file whose token_uri is the fake's token endpoint. */
function serviceAccountFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'relay-sa-')), 'sa.json');
  const privateKey = key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const json = {
    type: 'service_account',
    client_email: email,
    private_key: privateKey,
    token_uri: fake.tokenUrl,
  };
  writeFileSync(file, JSON.stringify(json));
  return file;
}

const account = (credentials: object = { accessToken: staticToken }) => ({
  account: 'acme',
  audience: '123456789012',
  subscription,
  credentials,
  apiRoot: fake.url,
});
const jobId = (key: string) => eventId('googlechat', 'acme', key);

async function startPulling(credentials?: object): Promise<TestRelay> {
  t = await startTestRelay(
    { channels: { googleChat: [account(credentials)] } },
    { channels: [{ ...googlechat, loops: (a) => [pubsubLoop(a, { maxMessages: 10 })] }] },
  );
  return t;
}

describe('google chat pub/sub pull in a running relay', () => {
  it("emits the HTTP route's types and payloads, and acknowledges only after the jobs exist", async () => {
    await startFake();
    const relay = await startPulling();
    const ids = [fake.publish(chatEvent('message')), fake.publish(chatEvent('added-to-space'))];
    ids.push(fake.publish(chatEvent('addon-message')));
    await until(() => ids.every((id) => fake.isAcked(id)));
    const jobs = await relay.jobs();
    expect(jobs.map((e) => e.type).sort()).toEqual([
      'googlechat.added_to_space',
      'googlechat.message',
      'googlechat.message',
    ]);
    const message = jobs.find((e) => e.id === jobId('spaces/AAAAAAAAAAA/messages/CCCCCCCCCCC'));
    expect(message).toMatchObject({ source: '/google-chat/acme', data: { payload: chatEvent('message') } });
    expect(fake.pulls[0]).toMatchObject({ token: staticToken, maxMessages: 10 });
    expect(fake.acks.map((a) => a.messageId).sort()).toEqual([...ids].sort());
    const created = await Promise.all(
      jobs.map(async (e) => (await relay.queue().getJob(e.id))?.timestamp ?? 0),
    );
    expect(Math.min(...fake.acks.map((a) => a.at))).toBeGreaterThanOrEqual(Math.max(...created));
  });

  it('a redelivered message (its acknowledge failed) makes no second job', async () => {
    await startFake();
    fake.failNext('acknowledge', googleError(503, 'UNAVAILABLE', 'The service is currently unavailable.'));
    const relay = await startPulling();
    const id = fake.publish(chatMessage(1));
    await until(() => fake.isAcked(id));
    expect(fake.delivered).toEqual([id, id]);
    expect((await relay.jobs()).map((e) => e.id)).toEqual([jobId('spaces/AAAAAAAAAAA/messages/m1')]);
  });

  it('an undecodable message makes no job, is logged like a rejection and left unacknowledged; its neighbours go on', async () => {
    await startFake();
    const relay = await startPulling();
    const garbage = fake.publish(Buffer.from('not json at all'));
    const stranger = fake.publish({ hello: 'a Pub/Sub message that is no Chat event' });
    const good = fake.publish(chatMessage(2));
    await until(() => fake.isAcked(good));
    await until(() => relay.logs.filter((l) => l.includes('googlechat pubsub message rejected')).length >= 2);
    expect(fake.isAcked(garbage) || fake.isAcked(stranger)).toBe(false);
    expect((await relay.jobs()).map((e) => e.id)).toEqual([jobId('spaces/AAAAAAAAAAA/messages/m2')]);
    const line =
      relay.logs.find((l) => l.includes('rejected') && l.includes(`"messageId":"${garbage}"`)) ?? '';
    expect(JSON.parse(line)).toMatchObject({ reason: 'bad_body', why: 'data is not base64 JSON', bytes: 15 });
    expect(line).toMatch(/"sha256":"[0-9a-f]{64}"/);
    expect(relay.logs.join('\n')).not.toContain('not json at all');
  });

  it('429 RESOURCE_EXHAUSTED: waits Retry-After before pulling again', async () => {
    await startFake();
    fake.failNext('pull', {
      ...googleError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded'),
      headers: { 'retry-after': '2' },
    });
    const relay = await startPulling();
    await until(() => fake.pulls.length >= 2);
    const [limited, next] = fake.pulls;
    const waitedMs = (next?.at ?? 0) - (limited?.at ?? 0);
    // Retry-After: 2, not the 10 s used when Pub/Sub names no time.
    expect(waitedMs).toBeGreaterThanOrEqual(1950);
    expect(waitedMs).toBeLessThan(5000);
    expect(relay.logs.join('\n')).toMatch(/RESOURCE_EXHAUSTED Quota exceeded/);
  });

  it("service account file: a token from the key's token_uri (RS256 assertion, pubsub scope) authorizes the pulls", async () => {
    await startFake();
    const relay = await startPulling({ serviceAccountFile: serviceAccountFile() });
    const id = fake.publish(chatMessage(3));
    await until(() => fake.isAcked(id));
    expect(fake.issued).toHaveLength(1);
    expect(fake.pulls.every((p) => p.token === fake.issued[0])).toBe(true);
    expect((await relay.jobs()).map((e) => e.id)).toEqual([jobId('spaces/AAAAAAAAAAA/messages/m3')]);
    expect(relay.logs.join('\n')).not.toContain(fake.issued[0]);
  });

  it('time from a message offered by the fake to its job (20 messages, one at a time)', async () => {
    await startFake();
    const relay = await startPulling();
    await until(() => fake.pulls.length >= 1);
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const offeredAt = Date.now();
      fake.publish(chatMessage(100 + i));
      let created = 0;
      await until(async () => {
        created =
          (await relay.queue().getJob(jobId(`spaces/AAAAAAAAAAA/messages/m${100 + i}`)))?.timestamp ?? 0;
        return created > 0;
      });
      latencies.push(created - offeredAt);
    }
    latencies.sort((a, b) => a - b);
    console.log(
      `googlechat pubsub: message offered -> job created: p50 ${latencies[9]} ms, max ${latencies[19]} ms (n=20)`,
    );
    expect(latencies[19]).toBeLessThan(1000);
  });
});

describe('google chat pub/sub pull, driven by hand', () => {
  const run = async (credentials: object) => {
    return pubsubLoop(googleChatAccount.parse(account(credentials)))
      .run(loopHarness().context(new AbortController().signal))
      .catch((e: unknown) => e as Error);
  };

  it('refused credentials are CredentialErrors that name the fix and never the token', async () => {
    await startFake();
    const wrong = await run({ accessToken: 'ya29.not-a-token-the-fake-knows' });
    expect(wrong).toBeInstanceOf(CredentialError);
    expect(wrong?.message).toMatch(/401 UNAUTHENTICATED.*check credentials/);
    expect(wrong?.message).not.toContain('ya29.not-a-token');

    fake.failNext(
      'pull',
      googleError(403, 'PERMISSION_DENIED', 'User not authorized to perform this action.'),
    );
    const denied = await run({ accessToken: staticToken });
    expect(denied).toBeInstanceOf(CredentialError);
    expect(denied?.message).toMatch(/403 PERMISSION_DENIED .*roles\/pubsub.subscriber/);

    fake.failNext('token', {
      status: 400,
      body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' },
    });
    const grant = await run({ serviceAccountFile: serviceAccountFile() });
    expect(grant).toBeInstanceOf(CredentialError);
    expect(grant?.message).toMatch(/invalid_grant/);

    const missing = await run({ serviceAccountFile: '/nonexistent/sa.json' });
    expect(missing).toBeInstanceOf(CredentialError);
    expect(missing?.message).toMatch(/cannot read service account file \/nonexistent\/sa.json/);
  });
});
