import type { ChannelAccounts } from '../accounts.js';
import {
  type AnyChannel,
  type ChannelEvent,
  CredentialError,
  type LoopSpec,
  RetryLaterError,
} from '../channel.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';

export type Emit = (
  channel: AnyChannel,
  account: unknown,
  events: readonly ChannelEvent[],
) => Promise<readonly string[]>;

export interface LoopStatus {
  readonly channel: string;
  readonly account: string;
  readonly loop: string;
  running: boolean;
  lastSuccess: string | undefined;
  lastError: string | undefined;
  problem: string | undefined;
}

export interface RunnerDeps {
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly publicUrl: string | undefined;
  readonly emit: Emit;
  now(): number;
}

const minBackoffMs = 1000;
const maxBackoffMs = 60_000;
const credentialBackoffMs = 5 * 60_000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs every outbound loop of every configured account: restarts a loop that fails, with jittered
 * exponential backoff (a provider's Retry-After wins; refused credentials wait minutes, not
 * seconds), and stops them all through one AbortController.
 */
export class LoopRunner {
  readonly #abort = new AbortController();
  readonly #running: Promise<void>[] = [];
  readonly statuses: LoopStatus[] = [];

  constructor(private readonly deps: RunnerDeps) {}

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
    const status: LoopStatus = {
      channel: channel.name,
      account: accountId,
      loop: spec.name,
      running: false,
      lastSuccess: undefined,
      lastError: undefined,
      problem: undefined,
    };
    this.statuses.push(status);
    const log = this.deps.log.child({ channel: channel.name, account: accountId, loop: spec.name });
    const signal = this.#abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      status.running = true;
      this.deps.metrics.loopUp.set({ channel: channel.name, account: accountId }, 1);
      try {
        await spec.run({
          signal,
          log,
          publicUrl: this.deps.publicUrl,
          now: this.deps.now,
          emit: (events) => this.deps.emit(channel, account, events),
          report: (problem) => {
            if (problem && problem !== status.problem) log.warn({ problem }, 'loop reports a problem');
            status.problem = problem;
          },
          ok: () => {
            failures = 0;
            status.lastSuccess = new Date(this.deps.now()).toISOString();
          },
        });
        if (!signal.aborted) log.info('loop finished');
        break;
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        status.lastError = `${new Date(this.deps.now()).toISOString()} ${errorMessage(err)}`;
        let waitMs = Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(failures - 1, 10));
        waitMs = Math.round(waitMs / 2 + Math.random() * (waitMs / 2));
        if (err instanceof RetryLaterError) waitMs = Math.max(err.retryAfterMs, minBackoffMs);
        if (err instanceof CredentialError) {
          waitMs = credentialBackoffMs;
          status.problem = `re-consent needed for ${channel.name} account "${accountId}": ${err.message}`;
          log.error({ err: err.message }, status.problem);
        } else {
          log.warn({ err: errorMessage(err), retryInMs: waitMs }, 'loop failed; retrying');
        }
        status.running = false;
        this.deps.metrics.loopUp.set({ channel: channel.name, account: accountId }, 0);
        await sleep(waitMs, signal);
      }
    }
    status.running = false;
    this.deps.metrics.loopUp.set({ channel: channel.name, account: accountId }, 0);
  }

  /** Problems loops report, for /readyz details. */
  problems(): string[] {
    return this.statuses
      .filter((s) => s.problem)
      .map((s) => `${s.channel}/${s.account} ${s.loop}: ${s.problem}`);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.all(this.#running);
  }
}
