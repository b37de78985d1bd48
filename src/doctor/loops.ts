import type { ChannelAccounts } from '../accounts.js';
import { isFailing, type LoopState, readLoopState } from '../loops/state.js';
import type { RedisClient } from '../redis/connection.js';
import { type Finding, finding } from './finding.js';

/** Lease and cursor keys as src/loops/runner.ts writes them. */
export const leaseKey = (prefix: string, id: string) => `${prefix}:relay:lease:${id}`;
const cursorsKey = (prefix: string) => `${prefix}:relay:cursors`;

export interface LoopLease {
  /** `channel:account:loop`, the runner's loop id. */
  readonly id: string;
  readonly holder: string | null;
  readonly ttlMs: number;
  readonly cursorMovedAt: number | undefined;
  /** What its holder last recorded (src/loops/state.ts); undefined before any relay ran it. */
  readonly state?: LoopState | undefined;
}

/** Every loop the config asks for, with who holds its lease now. */
export async function readLeases(
  redis: RedisClient,
  prefix: string,
  configured: readonly ChannelAccounts[],
): Promise<LoopLease[]> {
  const out: LoopLease[] = [];
  for (const { channel, accounts } of configured) {
    for (const account of accounts) {
      for (const spec of channel.loops?.(account) ?? []) {
        const id = `${channel.name}:${channel.accountId(account)}:${spec.name}`;
        const key = leaseKey(prefix, id);
        const [holder, ttlMs, movedAt, state] = await Promise.all([
          redis.get(key),
          redis.pttl(key),
          redis.hget(cursorsKey(prefix), `${id}@at`),
          readLoopState(redis, prefix, id),
        ]);
        out.push({ id, holder, ttlMs, cursorMovedAt: movedAt ? Number(movedAt) : undefined, state });
      }
    }
  }
  return out;
}

function ago(ms: number): string {
  const sec = Math.max(0, Math.round(ms / 1000));
  if (sec < 120) return `${sec} s ago`;
  if (sec < 7200) return `${Math.round(sec / 60)} min ago`;
  return `${Math.round(sec / 3600)} h ago`;
}

export function loopFindings(leases: readonly LoopLease[], nowMs: number): Finding[] {
  if (leases.length === 0) return [finding('ok', 'loops', 'no outbound loops configured')];
  return leases.map((l) => {
    const check = `loop ${l.id.replaceAll(':', ' ').replace(' ', '/')}`;
    const state = l.state;
    if (!l.holder && state?.finishedAt) {
      return state.problem
        ? finding('warning', check, `ended at ${state.finishedAt} waiting on you: ${state.problem}`)
        : finding('ok', check, `finished at ${state.finishedAt}: nothing more to do`);
    }
    // Only the current holder's record says how the loop is doing now.
    if (l.holder && state?.holder === l.holder && isFailing(state)) {
      const rounds = state.failures === 1 ? 'its last round' : `its last ${state.failures} rounds`;
      const since = state.lastSuccess ? `(last success ${state.lastSuccess})` : '(no success yet)';
      const todo = state.credentials
        ? 'the provider refused the credentials: renew them as the error says'
        : 'fix what the error names (URL, network, provider)';
      return finding(
        'problem',
        check,
        `held by ${l.holder}, but ${rounds} failed ${since}; last error ${state.lastError ?? 'unknown'}. To do: ${todo}; the loop retries by itself (state in /admin/channels)`,
      );
    }
    if (!l.holder)
      return finding(
        'problem',
        check,
        'no replica holds its lease, so nothing runs it: start the relay against this Redis and prefix (a loop that ended by itself, e.g. without publicUrl, says why in /admin/channels)',
      );
    const cursor = l.cursorMovedAt === undefined ? '' : `; cursor moved ${ago(nowMs - l.cursorMovedAt)}`;
    return finding(
      'ok',
      check,
      `held by ${l.holder} (lease ${Math.max(0, Math.round(l.ttlMs / 1000))} s left)${cursor}`,
    );
  });
}
