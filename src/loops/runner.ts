import type { ChannelAccounts } from '../accounts.js';
import type { AnyChannel, ChannelEvent, LoopSpec } from '../channel.js';
import { CredentialError, errorMessage, RetryLaterError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { RedisClient } from '../redis/connection.js';
import { CursorStore } from './cursor.js';
import { ackInbox, inboxKey, postToInbox, readInbox } from './inbox.js';
import { holderId, Lease } from './lease.js';
import { sleep } from './sleep.js';
import { isFailing, type LoopState, secretScrubber, writeLoopState } from './state.js';

export type Emit = (
  channel: AnyChannel,
  account: unknown,
  events: readonly ChannelEvent[],
) => Promise<readonly string[]>;

export interface LoopStatus {
  readonly channel: string;
  readonly account: string;
  readonly loop: string;
  /** True while this replica holds the lease and runs the loop. */
  running: boolean;
  /** Who holds the lease, as last seen from here (this replica's id when it does). */
  holder: string | null;
  lastSuccess: string | undefined;
  lastError: string | undefined;
  problem: string | undefined;
  cursorMovedAt: string | undefined;
  /** Rounds failed in a row since the last success. */
  failures: number;
  /** When the loop ended by itself (a one-shot, or one waiting on the operator): not a readiness failure. */
  finishedAt: string | undefined;
}

export interface RunnerDeps {
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly publicUrl: string | undefined;
  readonly emit: Emit;
  now(): number;
  /** Lease time to live; a dead holder's loops move within this plus `standbyPollMs`. Default 15 s. */
  readonly leaseTtlMs?: number;
  /** How often a replica without the lease tries to take it. Default 2 s. */
  readonly standbyPollMs?: number;
}

const minBackoffMs = 1000;
const maxBackoffMs = 60_000;
const credentialBackoffMs = 5 * 60_000;

class LeaseLostError extends Error {}

/**
 * The one supervisor of outbound loops. Per loop: take the lease (or stand by while another replica
 * holds it), run the loop with restarts (jittered exponential backoff; a provider's Retry-After
 * wins; refused credentials wait minutes and are reported as re-consent needed), renew the lease,
 * and stop the loop at once when the lease is lost. Stopping aborts every loop and releases its
 * lease so another replica takes over without waiting for it to expire.
 */
export class LoopRunner {
  readonly #abort = new AbortController();
  readonly #running: Promise<void>[] = [];
  readonly #leases: Lease[] = [];
  readonly statuses: LoopStatus[] = [];
  readonly holder = holderId();
  readonly #cursors: CursorStore;
  readonly #ttlMs: number;
  readonly #standbyMs: number;

  constructor(private readonly deps: RunnerDeps) {
    this.#cursors = new CursorStore(deps.redis, `${deps.prefix}:relay:cursors`);
    this.#ttlMs = deps.leaseTtlMs ?? 15_000;
    this.#standbyMs = deps.standbyPollMs ?? 2000;
  }

  start(configured: readonly ChannelAccounts[]): void {
    for (const { channel, accounts } of configured) {
      for (const account of accounts) {
        for (const spec of channel.loops?.(account) ?? [])
          this.#running.push(this.#supervise(channel, account, spec));
      }
    }
  }

  async #supervise(channel: AnyChannel, account: unknown, spec: LoopSpec): Promise<void> {
    const accountId = channel.accountId(account);
    const id = `${channel.name}:${accountId}:${spec.name}`;
    const lease = new Lease(
      this.deps.redis,
      `${this.deps.prefix}:relay:lease:${id}`,
      this.holder,
      this.#ttlMs,
    );
    this.#leases.push(lease);
    const status: LoopStatus = {
      channel: channel.name,
      account: accountId,
      loop: spec.name,
      running: false,
      holder: null,
      lastSuccess: undefined,
      lastError: undefined,
      problem: undefined,
      cursorMovedAt: undefined,
      failures: 0,
      finishedAt: undefined,
    };
    this.statuses.push(status);
    const log = this.deps.log.child({ channel: channel.name, account: accountId, loop: spec.name });
    const stop = this.#abort.signal;

    while (!stop.aborted) {
      let mine = false;
      try {
        mine = await lease.acquire();
        status.holder = mine ? this.holder : await lease.holder();
      } catch (err) {
        status.lastError = `${new Date(this.deps.now()).toISOString()} lease: ${errorMessage(err)}`;
      }
      if (!mine) {
        await sleep(this.#standbyMs, stop);
        continue;
      }
      log.info({ holder: this.holder }, 'took the lease: running the loop');
      const own = new AbortController();
      const onStop = () => own.abort();
      stop.addEventListener('abort', onStop, { once: true });
      let renewedAt = Date.now();
      const renewal = setInterval(
        () => {
          lease.renew().then(
            (ok) => {
              if (ok) renewedAt = Date.now();
              else {
                log.warn('lost the lease: stopping the loop');
                own.abort();
              }
            },
            () => {
              // Redis unreachable: past the ttl another replica may hold it, so stop.
              if (Date.now() - renewedAt > this.#ttlMs) own.abort();
            },
          );
        },
        Math.max(100, Math.floor(this.#ttlMs / 3)),
      );
      const finished = await this.#runOwned(channel, account, spec, status, log, own.signal, lease, id);
      clearInterval(renewal);
      stop.removeEventListener('abort', onStop);
      this.#setUp(status, false);
      await lease.release().catch(() => {});
      status.holder = null;
      if (finished) {
        status.finishedAt = new Date(this.deps.now()).toISOString();
        this.#saveState(id, status, false);
        return;
      }
    }
  }

  /** Runs the loop while the lease is ours; true when the loop ended by itself (nothing more to do). */
  async #runOwned(
    channel: AnyChannel,
    account: unknown,
    spec: LoopSpec,
    status: LoopStatus,
    log: Logger,
    signal: AbortSignal,
    lease: Lease,
    id: string,
  ): Promise<boolean> {
    status.failures = 0;
    // Errors and problems are shown in /admin/channels and kept in Redis: never with a secret in them.
    const clean = secretScrubber(account);
    let successSaved = false;
    let credentials = false;
    while (!signal.aborted) {
      this.#setUp(status, true);
      try {
        await spec.run({
          signal,
          log,
          publicUrl: this.deps.publicUrl,
          now: this.deps.now,
          emit: (events) => this.deps.emit(channel, account, events),
          report: (problem) => {
            const next = problem === undefined ? undefined : clean(problem);
            if (next === status.problem) return;
            if (next) log.warn({ problem: next }, 'loop reports a problem');
            status.problem = next;
            this.#saveState(id, status, credentials);
          },
          ok: () => {
            const recovered = status.failures > 0 || !successSaved;
            status.failures = 0;
            credentials = false;
            status.lastSuccess = new Date(this.deps.now()).toISOString();
            if (recovered) {
              successSaved = true;
              this.#saveState(id, status, false);
            }
          },
          cursor: {
            get: async () => (await this.#cursors.get(id)) ?? undefined,
            set: async (value) => {
              const now = this.deps.now();
              if (!(await this.#cursors.set(id, value, lease.key, lease.token, now)))
                throw new LeaseLostError('lease lost: cursor not moved');
              status.cursorMovedAt = new Date(now).toISOString();
            },
          },
          inbox: {
            read: () => readInbox(this.deps.redis, inboxKey(this.deps.prefix, id)),
            ack: (ids) => ackInbox(this.deps.redis, inboxKey(this.deps.prefix, id), ids),
          },
        });
        if (signal.aborted) return false;
        log.info('loop finished');
        return true;
      } catch (err) {
        if (signal.aborted || err instanceof LeaseLostError) return false;
        status.failures++;
        status.lastError = `${new Date(this.deps.now()).toISOString()} ${clean(errorMessage(err))}`;
        credentials = err instanceof CredentialError;
        let waitMs = Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(status.failures - 1, 10));
        waitMs = Math.round(waitMs / 2 + Math.random() * (waitMs / 2));
        if (err instanceof RetryLaterError) waitMs = Math.max(err.retryAfterMs, minBackoffMs);
        if (err instanceof CredentialError) {
          waitMs = credentialBackoffMs;
          status.problem = `re-consent needed for ${channel.name} account "${status.account}": ${clean(err.message)}`;
          log.error({ err: err.message }, status.problem);
        } else {
          log.warn({ err: errorMessage(err), retryInMs: waitMs }, 'loop failed; retrying');
        }
        this.#saveState(id, status, credentials);
        this.#setUp(status, false);
        await sleep(waitMs, signal);
      }
    }
    return false;
  }

  /** Fire and forget: the loop never waits on, or fails because of, this record (src/loops/state.ts). */
  #saveState(id: string, status: LoopStatus, credentials: boolean): void {
    const state: LoopState = {
      holder: this.holder,
      failures: status.failures,
      lastError: status.lastError,
      lastSuccess: status.lastSuccess,
      credentials,
      problem: status.problem,
      finishedAt: status.finishedAt,
    };
    writeLoopState(this.deps.redis, this.deps.prefix, id, state).catch((err: unknown) =>
      this.deps.log.debug({ err: errorMessage(err), loop: id }, 'loop state not saved'),
    );
  }

  #setUp(status: LoopStatus, up: boolean): void {
    status.running = up;
    this.deps.metrics.loopUp.set({ channel: status.channel, account: status.account }, up ? 1 : 0);
  }

  /** Appends to a loop's inbox (any replica may call this; the loop's holder reads it). */
  notify(channel: string, account: string, loop: string, message: string): Promise<void> {
    return postToInbox(this.deps.redis, inboxKey(this.deps.prefix, `${channel}:${account}:${loop}`), message);
  }

  /**
   * Warnings for /readyz: problems loops report, loops that finished (a one-shot done, or one
   * waiting on the operator, which says why in its problem) and loops failing round after round.
   */
  problems(): string[] {
    const out: string[] = [];
    for (const s of this.statuses) {
      const name = `${s.channel}/${s.account} ${s.loop}`;
      if (s.problem) out.push(`${name}: ${s.problem}`);
      else if (s.finishedAt) out.push(`${name}: finished at ${s.finishedAt}, nothing more to do`);
      // Only while this replica runs it: after a hand-over the new holder's count is the one that matters.
      if (s.holder === this.holder && isFailing({ failures: s.failures }))
        out.push(`${name}: ${s.failures} rounds failed in a row; last error ${s.lastError ?? 'unknown'}`);
    }
    return out;
  }

  /**
   * Loops that should run and no replica holds right now (readiness: every loop needs a live owner
   * somewhere). A loop that finished here is not one of them.
   */
  async unowned(): Promise<string[]> {
    const out: string[] = [];
    for (const [i, lease] of this.#leases.entries()) {
      const s = this.statuses[i];
      if (!s || s.finishedAt) continue;
      if (!(await lease.holder()))
        out.push(`${s.channel}/${s.account} ${s.loop}: no replica holds this loop`);
    }
    return out;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.all(this.#running);
  }
}
