import { describe, expect, it } from 'vitest';
import type { RelayEvent } from '../../src/queue/envelope.js';
import { startFakeGraph, throttled } from '../../test/fakes/graph-mail.js';
import { loopHarness } from '../../test/support/loop-harness.js';
import { mailboxTestBed } from '../../test/support/mailbox-suite.js';
import { startTestRelay, type TestRelay } from '../../test/support/relay.js';
import { until } from '../../test/support/until.js';
import { outlookAccount } from './config.js';
import { exampleAccount } from './fixtures/config.js';
import { outlookPoll, parsePosition } from './poll.js';

const bed = mailboxTestBed(startFakeGraph);

const account = (overrides: Record<string, unknown> = {}) => ({
  ...exampleAccount,
  pollSeconds: 0.2,
  graphUrl: bed.fake.url,
  credentials: { ...exampleAccount.credentials, authorityUrl: bed.fake.authorityUrl },
  ...overrides,
});

async function start(overrides: Record<string, unknown> = {}): Promise<TestRelay> {
  const t = await startTestRelay({ channels: { outlook: [account(overrides)] } }, { leaseTtlMs: 1500 });
  bed.relays.push(t);
  return t;
}

const cursorOf = async (t: TestRelay) =>
  parsePosition((await bed.redis.hget(`${t.prefix}:relay:cursors`, 'outlook:sales:poll')) ?? undefined);

const jobsFor = async (t: TestRelay, id: string, type = 'outlook.message'): Promise<RelayEvent[]> =>
  (await t.jobs()).filter((e) => e.type === type && (e.data.payload as { id?: string }).id === id);

const hasJobs = (t: TestRelay, id: string, n: number, type?: string) => async () =>
  (await jobsFor(t, id, type)).length === n ? true : undefined;

describe('outlook delta loop', () => {
  it('establishes the position without replaying the folder, then emits new mail, changes and removals', async () => {
    bed.fake.linkOrigin = 'https://graph.microsoft.com';
    const old = [bed.fake.addMessage(), bed.fake.addMessage(), bed.fake.addMessage()];
    const t = await start();
    const first = await until(() => cursorOf(t));
    // Stored verbatim as Graph wrote it; followed on graphUrl.
    expect(first.deltaLink).toMatch(
      /^https:\/\/graph\.microsoft\.com\/v1\.0\/users\/sales%40contoso\.com\/mailFolders\/inbox\/messages\/delta\?\$deltatoken=/,
    );
    const initial = bed.fake.callsOf('delta')[0];
    expect(initial?.query.get('$filter')).toMatch(/^receivedDateTime ge \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(bed.fake.callsOf('token')[0]?.form?.get('scope')).toBe(`${new URL(bed.fake.url).origin}/.default`);

    const added = [bed.fake.addMessage(), bed.fake.addMessage(), bed.fake.addMessage()];
    const m = added[0];
    if (!m) throw new Error('no message');
    await until(async () => ((await t.jobs()).length === 3 ? true : undefined));
    const [job] = await jobsFor(t, m.id);
    expect(job).toMatchObject({
      type: 'outlook.message',
      source: '/outlook/sales',
      subject: m.conversationId,
      time: m.receivedDateTime,
      data: {
        payload: { id: m.id, changeKey: m.changeKey, '@odata.etag': `W/"${m.changeKey}"` },
        message: {
          id: m.id,
          conversation: m.conversationId,
          sender: m.from,
          text: m.bodyPreview,
          subject: m.subject,
        },
      },
    });
    expect(bed.fake.callsOf('delta').some((c) => c.query.has('$skiptoken'))).toBe(true);

    bed.fake.update(m.id);
    bed.fake.remove(added[1]?.id ?? '');
    await until(hasJobs(t, m.id, 2));
    await until(hasJobs(t, added[1]?.id ?? '', 1, 'outlook.removed'));
    const removedJob = (await jobsFor(t, added[1]?.id ?? '', 'outlook.removed'))[0];
    expect(removedJob?.data.payload).toEqual({
      '@odata.type': '#microsoft.graph.message',
      id: added[1]?.id,
      '@removed': { reason: 'deleted' },
    });
    for (const o of old) expect(await jobsFor(t, o.id)).toHaveLength(0);
    expect(bed.fake.callsOf('token')).toHaveLength(1);
  });

  it('measures the time from a message appearing upstream to its job (goal: pollSeconds + 1 s)', async () => {
    const pollSeconds = 0.5;
    const t = await start({ pollSeconds });
    await until(() => cursorOf(t));
    const latencies: number[] = [];
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 500));
      const addedAt = Date.now();
      const m = bed.fake.addMessage();
      const [job] = await until(async () => {
        const found = await jobsFor(t, m.id);
        return found.length > 0 ? found : undefined;
      });
      latencies.push(Date.parse(job?.receivedat ?? '') - addedAt);
    }
    console.info(`outlook event→job latency (pollSeconds ${pollSeconds}): ${latencies.join(', ')} ms`);
    expect(Math.max(...latencies)).toBeLessThan(pollSeconds * 1000 + 1000);
  });

  it('the same version of an item delivered again makes no second job', async () => {
    const t = await start();
    await until(() => cursorOf(t));
    const m = bed.fake.addMessage();
    await until(hasJobs(t, m.id, 1));
    bed.fake.repeat(m.id);
    await until(() => (bed.fake.deliveries(m.id) === 2 ? true : undefined));
    const marker = bed.fake.addMessage();
    await until(hasJobs(t, marker.id, 1));
    expect(await jobsFor(t, m.id)).toHaveLength(1);
  });

  it('backfillHours: the first round emits mail received within the window only', async () => {
    const recent = bed.fake.addMessage({
      receivedDateTime: new Date(Date.now() - 2 * 3_600_000).toISOString(),
    });
    const old = bed.fake.addMessage({
      receivedDateTime: new Date(Date.now() - 30 * 3_600_000).toISOString(),
    });
    const t = await start({ backfillHours: 24 });
    await until(() => cursorOf(t));
    expect(await jobsFor(t, recent.id)).toHaveLength(1);
    expect(await jobsFor(t, old.id)).toHaveLength(0);
  });

  it('an expired delta link (410 syncStateNotFound) restarts from the last poll time without losing mail', async () => {
    const t = await start();
    const before = await until(() => cursorOf(t));
    const seen = bed.fake.addMessage();
    await until(hasJobs(t, seen.id, 1));
    bed.fake.expireTokens();
    const meanwhile = bed.fake.addMessage();
    await until(hasJobs(t, meanwhile.id, 1));
    const restart = bed.fake.callsOf('delta').filter((c) => c.query.has('$filter'))[1];
    const from = Date.parse(/ge (\S+)$/.exec(restart?.query.get('$filter') ?? '')?.[1] ?? '');
    expect(from).toBeLessThanOrEqual(Date.now() - 5 * 60_000);
    expect(from).toBeGreaterThanOrEqual(before.at - 5 * 60_000 - 1000);
    expect(await jobsFor(t, seen.id)).toHaveLength(1);
    expect(t.logs.some((l) => l.includes('delta link expired'))).toBe(true);
    const after = bed.fake.addMessage();
    await until(hasJobs(t, after.id, 1));
  });

  it('honours Retry-After on 429 before asking again', async () => {
    const t = await start();
    await until(() => cursorOf(t));
    bed.fake.failNext('delta', throttled(2));
    const m = bed.fake.addMessage();
    const failedAt = Date.now();
    await until(hasJobs(t, m.id, 1), 6000);
    const [refused, retried] = bed.fake.callsOf('delta').filter((c) => c.at >= failedAt);
    expect((retried?.at ?? 0) - (refused?.at ?? 0)).toBeGreaterThanOrEqual(1900);
    expect(t.relay.loops.statuses[0]?.lastError).toMatch(/Graph throttled \(429 ApplicationThrottled/);
  });

  it('refused client credentials are reported as re-consent needed and not retried hot', async () => {
    bed.fake.client.clientSecret = 'rotated-elsewhere';
    const t = await start();
    const problem = await until(() => t.relay.loops.statuses[0]?.problem);
    expect(problem).toMatch(/^re-consent needed for outlook account "sales".*AADSTS7000215/);
    await new Promise((r) => setTimeout(r, 1000));
    expect(bed.fake.callsOf('token')).toHaveLength(1);
    expect(bed.fake.callsOf('delta')).toHaveLength(0);
    expect(t.logs.join('\n')).not.toContain('example-outlook-client-secret');
  });

  it('a failed emit leaves the delta link where it was, and the next run reads those changes again', async () => {
    const spec = outlookPoll(outlookAccount.parse(account()));
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
    await until(() => h.emitted.find((e) => (e.payload as { id?: string }).id === m.id));
    second.abort();
    await resumed;
    const token = new URL(parsePosition(before)?.deltaLink ?? '').searchParams.get('$deltatoken');
    const again = bed.fake.calls.slice(resumedAt).find((c) => c.kind === 'delta');
    expect(again?.query.get('$deltatoken')).toBe(token);
    expect(h.cursor).not.toBe(before);
  });
});
