import type { LoopContext, LoopSpec } from '../channel.js';
import { sleep } from './sleep.js';

/** One polling loop's own parts; the skeleton does the rest. */
export interface CursorPoll<P, S> {
  readonly pollSeconds: number;
  /** Once per run of the loop: what its rounds share (an API client, a token). */
  open(ctx: LoopContext): Promise<S>;
  /** The position stored as the cursor, or undefined when it is not one (then the loop starts afresh). */
  position(stored: Record<string, unknown>): P | undefined;
  /** Emits what is new since `saved` (undefined: the first round) and returns the position after it. */
  round(ctx: LoopContext, session: S, saved: P | undefined): Promise<P>;
  /** A failure as the runner should see it (throttling, refused credentials); default as thrown. */
  failure?(err: unknown): unknown;
}

/** A stored cursor read back with `poll.position`; undefined when absent or not JSON. */
export function readPosition<P>(
  value: string | undefined,
  position: CursorPoll<P, unknown>['position'],
): P | undefined {
  if (!value) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return parsed && typeof parsed === 'object' ? position(parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The skeleton of the mailbox loops: the cursor is read once per run (while the lease is ours
 * nobody else moves it, and a round that cannot reach Redis then fails at emit, not before asking
 * the provider); then, every `pollSeconds`, one round that emits what is new, and only after its
 * events are in Redis is the new position stored and the round counted as a success.
 */
export function cursorPollLoop<P, S>(poll: CursorPoll<P, S>): LoopSpec {
  return {
    name: 'poll',
    async run(ctx: LoopContext) {
      try {
        const session = await poll.open(ctx);
        let position = readPosition(await ctx.cursor.get(), poll.position);
        while (!ctx.signal.aborted) {
          position = await poll.round(ctx, session, position);
          await ctx.cursor.set(JSON.stringify(position));
          ctx.ok();
          await sleep(poll.pollSeconds * 1000, ctx.signal);
        }
      } catch (err) {
        throw poll.failure ? poll.failure(err) : err;
      }
    },
  };
}
