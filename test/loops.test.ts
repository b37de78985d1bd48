import { afterEach, describe, expect, it } from 'vitest';
import { webhook } from '../channels/webhook/index.js';
import type { AnyChannel, LoopContext } from '../src/channel.js';
import { startTestRelay, type TestRelay, uniquePrefix } from './support/relay.js';
import { until } from './support/until.js';

/**
 * A stand-in upstream: items 1..n appear over time; a loop reads from its cursor, emits, then moves
 * the cursor, the way every real loop must. Which relay ran each round is recorded.
 */
function tickingChannel(upstream: { items: number }, rounds: string[], name: string): AnyChannel {
  return {
    ...webhook,
    loops: () => [
      {
        name: 'tick',
        async run(ctx: LoopContext) {
          while (!ctx.signal.aborted) {
            const at = Number((await ctx.cursor.get()) ?? '0');
            if (at < upstream.items) {
              const next = at + 1;
              await ctx.emit([{ type: 'webhook.received', key: `item-${next}`, payload: { item: next } }]);
              await ctx.cursor.set(String(next));
              rounds.push(name);
              ctx.ok();
            }
            await new Promise((r) => setTimeout(r, 20));
          }
        },
      },
    ],
  };
}

const config = { channels: { webhook: [{ group: 'loop', trigger: 'tick', auth: { scheme: 'none' } }] } };
const relays: TestRelay[] = [];
afterEach(async () => {
  for (const r of relays.splice(0)) await r.close().catch(() => {});
});

async function emittedItems(t: TestRelay): Promise<number[]> {
  return (await t.jobs()).map((e) => (e.data.payload as { item: number }).item).sort((a, b) => a - b);
}

describe('loop supervisor', () => {
  it('runs each loop on exactly one of two replicas, and hands it over at once on a graceful stop', async () => {
    const prefix = uniquePrefix('lease');
    const upstream = { items: 5 };
    const rounds: string[] = [];
    const a = await startTestRelay(config, {
      prefix,
      leaseTtlMs: 1500,
      channels: [tickingChannel(upstream, rounds, 'a')],
    });
    relays.push(a);
    const b = await startTestRelay(config, {
      prefix,
      leaseTtlMs: 1500,
      channels: [tickingChannel(upstream, rounds, 'b')],
    });
    relays.push(b);
    await until(() => rounds.length === 5, 5000);
    expect(new Set(rounds).size).toBe(1);
    const first = rounds[0] === 'a' ? a : b;
    const second = first === a ? b : a;
    const secondName = first === a ? 'b' : 'a';

    const ready = (await (await fetch(`${first.opsUrl}/readyz`)).json()) as { status: string };
    expect(ready.status).toBe('ready');

    await first.relay.close();
    upstream.items = 8;
    const waitFrom = Date.now();
    await until(() => rounds.length === 8, 5000);
    const tookMs = Date.now() - waitFrom;
    expect(tookMs).toBeLessThan(1500);
    expect(rounds.slice(5)).toEqual([secondName, secondName, secondName]);
    expect(await emittedItems(second)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('a holder cut off from Redis stops its loop; another takes over after the lease expires, from the same cursor', async () => {
    const prefix = uniquePrefix('lease');
    const upstream = { items: 3 };
    const rounds: string[] = [];
    const a = await startTestRelay(config, {
      prefix,
      leaseTtlMs: 1000,
      channels: [tickingChannel(upstream, rounds, 'a')],
    });
    relays.push(a);
    await until(() => rounds.length === 3, 5000);
    const b = await startTestRelay(config, {
      prefix,
      leaseTtlMs: 1000,
      channels: [tickingChannel(upstream, rounds, 'b')],
    });
    relays.push(b);
    a.relay.redis.disconnect(false);
    upstream.items = 6;
    await until(() => rounds.length === 6, 6000);
    expect(rounds).toEqual(['a', 'a', 'a', 'b', 'b', 'b']);
    expect(await emittedItems(b)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('reports the holder, last success and cursor age in /admin/channels, and readiness without an owner', async () => {
    const upstream = { items: 1 };
    const rounds: string[] = [];
    const t = await startTestRelay(
      { ...config, admin: { token: 'admin-token-loops-1' } },
      { leaseTtlMs: 1000, channels: [tickingChannel(upstream, rounds, 'only')] },
    );
    relays.push(t);
    await until(() => rounds.length === 1, 5000);
    const res = await fetch(`${t.opsUrl}/admin/channels`, {
      headers: { authorization: 'Bearer admin-token-loops-1' },
    });
    const { channels } = (await res.json()) as { channels: Array<{ loops: Array<Record<string, unknown>> }> };
    const loop = channels[0]?.loops[0];
    expect(loop).toMatchObject({ loop: 'tick', running: true, holder: t.relay.loops.holder });
    expect(typeof loop?.lastSuccess).toBe('string');
    expect(typeof loop?.cursorMovedAt).toBe('string');

    await t.relay.loops.stop();
    const ready = await fetch(`${t.opsUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reasons: string[] }).reasons).toEqual([
      'webhook/loop/tick tick: no replica holds this loop',
    ]);
  });
});
