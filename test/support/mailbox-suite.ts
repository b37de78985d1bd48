import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RelayEvent } from '../../src/queue/envelope.js';
import { TestRedisServer } from './redis-server.js';
import { redisUrl, startTestRelay, type TestRelay, uniquePrefix } from './relay.js';
import { until } from './until.js';

/** What the two mailbox fakes (Gmail, Graph mail) have in common. */
export interface MailboxFake {
  readonly url: string;
  addEndpoint(): Promise<string>;
  addMessage(): { readonly id: string };
  callsOf(
    kind: string,
    endpoint?: number,
  ): ReadonlyArray<{ readonly at: number; readonly query: URLSearchParams }>;
  close(): Promise<void>;
}

/** One mailbox channel's specifics, so contract section 6 is proven once for both loops. */
export interface MailboxSuite<F extends MailboxFake, P> {
  readonly name: string;
  startFake(): Promise<F>;
  /** The fake's call kind of one poll round (Gmail history.list, Graph delta). */
  readonly pollKind: string;
  config(apiUrl: string, redis?: { url: string }): Record<string, unknown>;
  messageId(event: RelayEvent): string;
  /** The loop's field in the `{prefix}:relay:cursors` hash. */
  readonly cursorField: string;
  parsePosition(value: string | undefined): P | undefined;
  /** The cursor has taken in everything the fake holds (compared with an earlier position). */
  advanced(fake: F, cursor: P, since: P): boolean;
  /** The loop has fetched message `id` from the fake. */
  fetched(fake: F, id: string): boolean;
  /** [what the resumed poll asked for, what it should ask for]: the position before the outage. */
  resumedFrom(query: URLSearchParams, before: P): [string | null, string | null];
}

/** The rules of contract section 6 for a polled mailbox: one poller, takeover, cursor after Redis. */
export function describeMailboxLoop<F extends MailboxFake, P>(spec: MailboxSuite<F, P>): void {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  });

  async function relay(raw: Record<string, unknown>, prefix?: string, leaseTtlMs = 1000): Promise<TestRelay> {
    const t = await startTestRelay(raw, { leaseTtlMs, ...(prefix ? { prefix } : {}) });
    cleanup.push(() => t.close());
    return t;
  }

  /** Message id → number of jobs carrying it. */
  async function jobCounts(t: TestRelay): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const e of await t.jobs()) {
      const id = spec.messageId(e);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  }

  async function started(): Promise<F> {
    const fake = await spec.startFake();
    cleanup.push(() => fake.close());
    return fake;
  }

  describe(`${spec.name} loop across replicas and Redis outages`, () => {
    it('two relays poll with one of them; when the holder is cut off the other takes over, nothing lost or doubled', async () => {
      const fake = await started();
      const urlB = await fake.addEndpoint();
      const prefix = uniquePrefix(spec.name);
      const a = await relay(spec.config(fake.url), prefix);
      const b = await relay(spec.config(urlB), prefix);
      await until(() => fake.callsOf(spec.pollKind)[0]);
      const sent = [fake.addMessage().id];
      await until(async () => ((await jobCounts(a)).size === 1 ? true : undefined));

      const windowStart = Date.now();
      await new Promise((r) => setTimeout(r, 1000));
      const polls = [0, 1].map(
        (endpoint) => fake.callsOf(spec.pollKind, endpoint).filter((c) => c.at >= windowStart).length,
      );
      expect(polls.filter((n) => n > 0)).toHaveLength(1);
      expect([a, b].filter((t) => t.relay.loops.statuses[0]?.running)).toHaveLength(1);
      const holder = polls[0] ? a : b;
      const other = holder === a ? b : a;
      const otherEndpoint = holder === a ? 1 : 0;

      holder.relay.redis.disconnect(false);
      const cutAt = Date.now();
      sent.push(fake.addMessage().id);
      await new Promise((r) => setTimeout(r, 300));
      sent.push(fake.addMessage().id, fake.addMessage().id);
      await until(() => fake.callsOf(spec.pollKind, otherEndpoint).find((c) => c.at >= cutAt));
      const tookOverMs = Date.now() - cutAt;
      sent.push(fake.addMessage().id);
      const counts = await until(async () => {
        const c = await jobCounts(other);
        return sent.every((id) => c.has(id)) ? c : undefined;
      });
      expect([...counts.keys()].sort()).toEqual([...sent].sort());
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
      expect(tookOverMs).toBeLessThan(30_000);
      console.info(`${spec.name} takeover after the holder lost Redis: ${tookOverMs} ms (lease ttl 1000 ms)`);
    });

    it('while Redis is down the cursor does not move; once it is back the message arrives exactly once', async () => {
      const server = await TestRedisServer.start();
      cleanup.push(() => server.stop());
      const fake = await started();
      // A lease that outlives the outage: only the cursor rule (not lease loss) keeps the cursor still.
      const t = await relay(spec.config(fake.url, { url: server.url }), undefined, 20_000);
      const direct = new Redis(server.url, { maxRetriesPerRequest: 1 });
      direct.on('error', () => {});
      cleanup.push(async () => direct.disconnect());
      const cursor = async () =>
        spec.parsePosition((await direct.hget(`${t.prefix}:relay:cursors`, spec.cursorField)) ?? undefined);

      const initial = await until(cursor);
      const m1 = fake.addMessage();
      await until(async () => ((await jobCounts(t)).get(m1.id) === 1 ? true : undefined));
      const before = await until(async () => {
        const c = await cursor();
        return c && spec.advanced(fake, c, initial) ? c : undefined;
      });
      const movedAt = t.relay.loops.statuses[0]?.cursorMovedAt;

      // Killed, not paused: a refused write never lands later, so a cursor moved past a failed emit
      // would lose the message for good.
      await server.kill();
      const m2 = fake.addMessage();
      await until(() => spec.fetched(fake, m2.id) || undefined);
      await until(() =>
        t.relay.loops.statuses[0]?.lastError?.match(/could not queue|Connection is closed|ECONNREFUSED/),
      );
      await new Promise((r) => setTimeout(r, 1000));
      expect(t.relay.loops.statuses[0]?.cursorMovedAt).toBe(movedAt);

      const resumedAt = Date.now();
      await server.startProcess();
      await until(async () => {
        const c = await cursor();
        return c && spec.advanced(fake, c, before) ? true : undefined;
      }, 15_000);
      const resumedPoll = fake.callsOf(spec.pollKind).find((c) => c.at >= resumedAt);
      const [asked, expected] = spec.resumedFrom(resumedPoll?.query ?? new URLSearchParams(), before);
      expect(asked).toBe(expected);
      await new Promise((r) => setTimeout(r, 500));
      const counts = await jobCounts(t);
      expect(Object.fromEntries(counts)).toEqual({ [m1.id]: 1, [m2.id]: 1 });
    });
  });
}

/**
 * What a polled-mailbox test file sets up around each test: a fresh provider fake, a Redis client
 * for reading cursors, and the relays the test started (closed after it, with the fake).
 */
export function mailboxTestBed<F extends { close(): Promise<void> }>(
  startFake: () => Promise<F>,
): { readonly fake: F; readonly redis: Redis; readonly relays: TestRelay[] } {
  const bed = { relays: [] as TestRelay[] } as { fake: F; redis: Redis; relays: TestRelay[] };
  beforeAll(() => {
    bed.redis = new Redis(redisUrl);
  });
  afterAll(async () => {
    await bed.redis.quit();
  });
  beforeEach(async () => {
    bed.fake = await startFake();
  });
  afterEach(async () => {
    for (const r of bed.relays.splice(0)) await r.close().catch(() => {});
    await bed.fake.close();
  });
  return bed;
}
