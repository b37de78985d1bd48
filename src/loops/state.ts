import { collectSecrets } from '../config/secret.js';
import type { RedisClient } from '../redis/connection.js';

/**
 * What a loop's holder last saw of it, kept in Redis (one hash field per loop) so that `relay
 * doctor`, another process, can tell a loop that is held but failing every round from one that
 * works, and a loop that finished or waits on the operator from one nobody runs. The holder writes
 * it when something changes (a failure, the first success after a start or a failure, a reported
 * problem, the end), never per event.
 */
export interface LoopState {
  /** The replica that wrote it (the lease holder at the time). */
  readonly holder: string;
  /** Rounds failed in a row since the last success. */
  readonly failures: number;
  /** `<ISO time> <message>` of the last failure. */
  readonly lastError?: string | undefined;
  readonly lastSuccess?: string | undefined;
  /** The provider refused the credentials (re-consent or a new token needed). */
  readonly credentials?: boolean | undefined;
  /** A problem the loop reported (webhook drift, publicUrl missing). */
  readonly problem?: string | undefined;
  /** When the loop ended by itself: nothing more to do, or waiting on the operator (`problem`). */
  readonly finishedAt?: string | undefined;
}

export const loopStateKey = (prefix: string) => `${prefix}:relay:loop-state`;

/** Rounds failed in a row from which a loop counts as failing (one failure may be a blip). */
export const failingAfter = 2;

export const isFailing = (s: Pick<LoopState, 'failures' | 'credentials'>): boolean =>
  s.failures >= failingAfter || (s.failures > 0 && s.credentials === true);

/**
 * A scrubber of `account`'s configured secrets: loop errors may quote a URL or a provider's reply,
 * and they are shown in /admin/channels and kept here.
 */
export function secretScrubber(account: unknown): (text: string) => string {
  const secrets = [...collectSecrets(account)].filter((s) => s.length >= 4);
  return (text) => {
    let out = text;
    for (const s of secrets) if (out.includes(s)) out = out.split(s).join('[redacted]');
    return out;
  };
}

export async function writeLoopState(
  redis: RedisClient,
  prefix: string,
  id: string,
  state: LoopState,
): Promise<void> {
  await redis.hset(loopStateKey(prefix), id, JSON.stringify(state));
}

export async function readLoopState(
  redis: RedisClient,
  prefix: string,
  id: string,
): Promise<LoopState | undefined> {
  const raw = await redis.hget(loopStateKey(prefix), id);
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as LoopState;
  } catch {
    return undefined;
  }
}
