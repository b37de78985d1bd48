import { describe, expect, it } from 'vitest';
import { Turns } from '../src/http/turns.js';

/** Resolves after the current turn's check phase (and the microtasks it queued) has run. */
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

function submit(turns: Turns, n: number) {
  const started: number[] = [];
  const refused: number[] = [];
  for (let i = 0; i < n; i++) void turns.next().then((go) => (go ? started : refused).push(i));
  return { started, refused };
}

describe('Turns: requests start in arrival order, a bounded number per loop turn', () => {
  it('starts up to 64 a turn, in arrival order', async () => {
    const turns = new Turns(1000);
    const { started } = submit(turns, 100);
    expect(turns.waiting).toBe(100);
    await nextTurn();
    expect(started).toEqual(Array.from({ length: 64 }, (_, i) => i));
    await nextTurn();
    expect(started).toHaveLength(100);
    expect(turns.waiting).toBe(0);
  });

  it('starts only two in a turn that accepted a connection, so the next accept comes soon', async () => {
    const turns = new Turns(1000);
    const { started } = submit(turns, 10);
    turns.accepted();
    await nextTurn();
    expect(started).toEqual([0, 1]);
    // No connection accepted since: the next turn starts the rest.
    await nextTurn();
    expect(started).toHaveLength(10);
  });

  it('refuses a request that waited longer than maxWaitMs, and warns once per 10 s', async () => {
    let now = 0;
    const warnings: number[] = [];
    const turns = new Turns(
      1000,
      (waiting) => warnings.push(waiting),
      () => now,
    );
    const late = submit(turns, 3);
    now = 1001;
    const fresh = submit(turns, 1);
    await nextTurn();
    expect(late.refused).toEqual([0, 1, 2]);
    expect(late.started).toEqual([]);
    expect(fresh.started).toEqual([0]);
    expect(warnings).toEqual([3]);

    const again = submit(turns, 1);
    now = 5000;
    await nextTurn();
    expect(again.refused).toEqual([0]);
    expect(warnings).toHaveLength(1);

    // Ten seconds after the first warning, the next refusal warns again.
    const later = submit(turns, 1);
    now = 12_000;
    await nextTurn();
    expect(later.refused).toEqual([0]);
    expect(warnings).toEqual([3, 0]);
  });

  it('a request that waited exactly maxWaitMs still starts', async () => {
    let now = 0;
    const turns = new Turns(1000, undefined, () => now);
    const { started } = submit(turns, 1);
    now = 1000;
    await nextTurn();
    expect(started).toEqual([0]);
  });
});
