import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RelayEvent } from '../../src/queue/envelope.js';
import { rateLimited, startFakeGmail } from '../../test/fakes/gmail-api.js';
import { loopHarness } from '../../test/support/loop-harness.js';
import { mailboxTestBed } from '../../test/support/mailbox-suite.js';
import { startTestRelay, type TestRelay } from '../../test/support/relay.js';
import { until } from '../../test/support/until.js';
import { gmailAccount } from './config.js';
import { exampleAccount } from './fixtures/config.js';
import { gmailPoll, parsePosition } from './poll.js';

const bed = mailboxTestBed(startFakeGmail);

const account = (overrides: Record<string, unknown> = {}) => ({
  ...exampleAccount,
  pollSeconds: 0.2,
  apiRoot: bed.fake.url,
  credentials: { ...exampleAccount.credentials, tokenUrl: bed.fake.tokenUrl },
  ...overrides,
});

async function start(overrides: Record<string, unknown> = {}): Promise<TestRelay> {
  const t = await startTestRelay({ channels: { gmail: [account(overrides)] } }, { leaseTtlMs: 1500 });
  bed.relays.push(t);
  return t;
}

const cursorOf = async (t: TestRelay) =>
  parsePosition((await bed.redis.hget(`${t.prefix}:relay:cursors`, 'gmail:support-inbox:poll')) ?? undefined);

const jobsFor = async (t: TestRelay, id: string): Promise<RelayEvent[]> =>
  (await t.jobs()).filter((e) => (e.data.message as { id?: string } | undefined)?.id === id);

const historyCallsSince = (at: number) => bed.fake.callsOf('history').filter((c) => c.at >= at);

describe('gmail poll loop', () => {
  it('starts at the current history id, then emits new mail across history pages as gmail.message', async () => {
    bed.fake.addMessage();
    bed.fake.addMessage();
    const t = await start();
    const first = await until(() => cursorOf(t));
    expect(first.historyId).toBe(String(bed.fake.historyId()));
    expect(bed.fake.callsOf('token')[0]?.form?.get('refresh_token')).toBe('1//fake-refresh');

    const added = [1, 2, 3, 4, 5].map(() => bed.fake.addMessage());
    await until(async () => ((await t.jobs()).length === 5 ? true : undefined));
    const jobs = await t.jobs();
    expect(jobs).toHaveLength(5);
    const m = added[0];
    if (!m) throw new Error('no message');
    const [job] = await jobsFor(t, m.id);
    expect(job).toMatchObject({
      type: 'gmail.message',
      source: '/gmail/support-inbox',
      subject: m.threadId,
      time: new Date(m.internalDate).toISOString(),
      data: {
        payload: { id: m.id, threadId: m.threadId, snippet: m.snippet },
        message: { id: m.id, conversation: m.threadId, sender: m.from, text: m.snippet, subject: m.subject },
      },
    });
    const history = bed.fake.callsOf('history');
    expect(history[0]?.query.get('startHistoryId')).toBe(first.historyId);
    expect(history[0]?.query.get('historyTypes')).toBe('messageAdded');
    expect(history.some((c) => c.query.get('pageToken') === '4')).toBe(true);
    expect(bed.fake.callsOf('get').every((c) => c.query.get('format') === 'metadata')).toBe(true);
    expect(bed.fake.callsOf('get').every((c) => c.authorization?.startsWith('Bearer ya29.fake-'))).toBe(true);
    await until(async () =>
      (await cursorOf(t))?.historyId === String(bed.fake.historyId()) ? true : undefined,
    );
  });

  it('measures the time from a message appearing upstream to its job (goal: pollSeconds + 1 s)', async () => {
    const pollSeconds = 0.5;
    const t = await start({ pollSeconds });
    await until(() => cursorOf(t));
    const latencies: number[] = [];
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 500));
      const m = bed.fake.addMessage();
      const [job] = await until(async () => {
        const found = await jobsFor(t, m.id);
        return found.length > 0 ? found : undefined;
      });
      latencies.push(Date.parse(job?.receivedat ?? '') - m.internalDate);
    }
    console.info(`gmail event→job latency (pollSeconds ${pollSeconds}): ${latencies.join(', ')} ms`);
    expect(Math.max(...latencies)).toBeLessThan(pollSeconds * 1000 + 1000);
  });

  it('a message repeated in a later history record makes no second job', async () => {
    const t = await start({ format: 'full' });
    await until(() => cursorOf(t));
    const m = bed.fake.addMessage();
    await until(async () => ((await jobsFor(t, m.id)).length === 1 ? true : undefined));
    bed.fake.redeliver(m.id);
    const marker = bed.fake.addMessage();
    await until(async () => ((await jobsFor(t, marker.id)).length === 1 ? true : undefined));
    expect(bed.fake.callsOf('get').filter((c) => c.path.endsWith(m.id))).toHaveLength(2);
    expect(bed.fake.callsOf('get').every((c) => c.query.get('format') === 'full')).toBe(true);
    expect(await jobsFor(t, m.id)).toHaveLength(1);
  });

  it('backfillHours: the first run also emits mail received within the window, and no older mail', async () => {
    const recent = bed.fake.addMessage({ internalDate: Date.now() - 2 * 3_600_000 });
    bed.fake.addMessage({ internalDate: Date.now() - 30 * 3_600_000 });
    bed.fake.addMessage({ internalDate: Date.now() - 3_600_000, labelIds: ['DRAFT'] });
    const startedAt = Date.now();
    const t = await start({ backfillHours: 24 });
    await until(() => cursorOf(t));
    const jobs = await t.jobs();
    expect(jobs.map((j) => (j.data.message as { id: string }).id)).toEqual([recent.id]);
    const q = bed.fake.callsOf('list')[0]?.query.get('q') ?? '';
    const after = Number(/^after:(\d+)$/.exec(q)?.[1]);
    expect(Math.abs(after - Math.floor((startedAt - 24 * 3_600_000) / 1000))).toBeLessThan(5);
  });

  it('a stale history id (404): takes a fresh one and lists mail since the last poll, losing nothing', async () => {
    const t = await start();
    const before = await until(() => cursorOf(t));
    bed.fake.expireHistory();
    const meanwhile = bed.fake.addMessage();
    await until(async () => ((await jobsFor(t, meanwhile.id)).length === 1 ? true : undefined));
    const list = bed.fake.callsOf('list')[0];
    const after = Number(/after:(\d+)/.exec(list?.query.get('q') ?? '')?.[1]);
    expect(after).toBeLessThanOrEqual(Math.floor(before.at / 1000));
    expect(after).toBeGreaterThan(Math.floor(before.at / 1000) - 600);
    expect(bed.fake.callsOf('profile').length).toBe(2);

    const later = bed.fake.addMessage();
    await until(async () => ((await jobsFor(t, later.id)).length === 1 ? true : undefined));
    expect(bed.fake.callsOf('list')).toHaveLength(1);
    expect(await jobsFor(t, meanwhile.id)).toHaveLength(1);
    expect(t.logs.some((l) => l.includes('history id too old (404)'))).toBe(true);
  });

  it('honours Retry-After on 429 before polling again', async () => {
    const t = await start();
    await until(() => cursorOf(t));
    bed.fake.failNext('history', rateLimited(2));
    const m = bed.fake.addMessage();
    const failedAt = Date.now();
    await until(async () => ((await jobsFor(t, m.id)).length === 1 ? true : undefined), 6000);
    const [refused, retried] = historyCallsSince(failedAt);
    expect((retried?.at ?? 0) - (refused?.at ?? 0)).toBeGreaterThanOrEqual(1900);
    expect(t.relay.loops.statuses[0]?.lastError).toMatch(/rate limited \(429 rateLimitExceeded\)/);
  });

  it('a refused refresh token (invalid_grant) is reported as re-consent needed and not retried hot', async () => {
    bed.fake.oauth.refreshToken = '1//another-token';
    const t = await start();
    const problem = await until(() => t.relay.loops.statuses[0]?.problem);
    expect(problem).toMatch(/^re-consent needed for gmail account "support-inbox".*invalid_grant/);
    await new Promise((r) => setTimeout(r, 1000));
    expect(bed.fake.callsOf('token')).toHaveLength(1);
    expect(bed.fake.callsOf('history')).toHaveLength(0);
    expect(t.logs.join('\n')).not.toContain('example-gmail-client-secret');
  });

  it('logs a rotated refresh token without printing it', async () => {
    bed.fake.oauth.rotateTo = '1//rotated-refresh-token';
    const t = await start();
    await until(() => cursorOf(t));
    const line = await until(() => t.logs.find((l) => l.includes('refresh token rotated')));
    expect(line).not.toContain('1//rotated-refresh-token');
  });

  it('works with a static access token', async () => {
    bed.fake.acceptedTokens.add('ya29.static-access-token');
    const t = await start({ credentials: { accessToken: 'ya29.static-access-token' } });
    await until(() => cursorOf(t));
    const m = bed.fake.addMessage();
    await until(async () => ((await jobsFor(t, m.id)).length === 1 ? true : undefined));
    expect(bed.fake.callsOf('token')).toHaveLength(0);
    expect(bed.fake.callsOf('get')[0]?.authorization).toBe('Bearer ya29.static-access-token');
  });

  it('works with a service account acting as the subject (JWT bearer grant to the key file token_uri)', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const file = join(mkdtempSync(join(tmpdir(), 'relay-gmail-')), 'sa.json');
    writeFileSync(
      file,
      JSON.stringify({
        type: 'service_account',
        client_email: 'relay@project.iam.gserviceaccount.com',
        private_key_id: 'key-1',
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
        token_uri: bed.fake.tokenUrl,
      }),
    );
    const t = await start({
      user: 'support@example.com',
      credentials: { serviceAccountFile: file, subject: 'support@example.com' },
    });
    await until(() => cursorOf(t));
    expect(bed.fake.assertions[0]).toMatchObject({
      iss: 'relay@project.iam.gserviceaccount.com',
      sub: 'support@example.com',
      aud: bed.fake.tokenUrl,
      scope: 'https://www.googleapis.com/auth/gmail.readonly',
    });
    expect(bed.fake.callsOf('profile')[0]?.path).toBe('/gmail/v1/users/support%40example.com/profile');
  });

  it('a failed emit leaves the cursor where it was, and the next run fetches that mail again', async () => {
    const spec = gmailPoll(gmailAccount.parse(account()));
    const h = loopHarness();
    const first = new AbortController();
    const running = spec.run(h.context(first.signal)).catch((err: unknown) => err);
    const before = await until(() => h.cursor);
    h.failing = true;
    const m = bed.fake.addMessage();
    expect(await running).toMatchObject({ message: 'Redis is down' });
    expect(h.cursor).toBe(before);

    h.failing = false;
    const resumedAt = bed.fake.calls.length;
    const second = new AbortController();
    const resumed = spec.run(h.context(second.signal));
    await until(() => h.emitted.find((e) => e.key === m.id));
    second.abort();
    await resumed;
    const again = bed.fake.calls.slice(resumedAt).find((c) => c.kind === 'history');
    expect(again?.query.get('startHistoryId')).toBe(parsePosition(before)?.historyId);
    expect(parsePosition(h.cursor)?.historyId).toBe(String(bed.fake.historyId()));
  });
});
