import type { ChannelEvent, LoopContext } from '../../src/channel.js';
import { createLogger } from '../../src/log.js';

/**
 * A loop context for running one loop's `run` directly, without a relay: the cursor is kept in
 * memory and `emit` can be made to fail (as it does with Redis down), to prove that a loop moves
 * its cursor only after emit succeeded.
 */
export interface LoopHarness {
  readonly emitted: ChannelEvent[];
  cursor: string | undefined;
  /** While true, emit throws "Redis is down". */
  failing: boolean;
  context(signal: AbortSignal): LoopContext;
}

export function loopHarness(): LoopHarness {
  const harness: LoopHarness = {
    emitted: [],
    cursor: undefined,
    failing: false,
    context: (signal) => ({
      signal,
      log: createLogger({ level: 'silent' }),
      publicUrl: undefined,
      now: Date.now,
      emit: async (events) => {
        if (harness.failing) throw new Error('Redis is down');
        harness.emitted.push(...events);
        return events.map(() => 'id');
      },
      report: () => {},
      ok: () => {},
      cursor: {
        get: async () => harness.cursor,
        set: async (value) => {
          harness.cursor = value;
        },
      },
    }),
  };
  return harness;
}
