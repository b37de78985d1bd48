import { errorMessage, UnavailableError } from '../errors.js';
import { parseExactJson } from '../exact-json.js';
import type { Metrics } from '../metrics.js';
import { enqueueTimeoutMs, type RedisClient } from '../redis/connection.js';
import type { RelayEvent } from './envelope.js';

/** Where inbound requests put their events: the producer (jobs at once) or the journal (jobs by the pump). */
export interface EventSink {
  /** Resolves with the event ids only once the events are durably in Redis; else throws `UnavailableError`. */
  emit(events: readonly RelayEvent[], homeQueue: string | undefined): Promise<string[]>;
}

/** The ingest journal: a Redis stream, one entry per request, read by the pump's consumer group. */
export const journalKey = (prefix: string) => `${prefix}:relay:journal`;
export const pumpGroup = 'pump';

/** Entry fields: `q` the request's home queue, `e` its events as a JSON array of CloudEvents. */
export interface JournalEntry {
  readonly id: string;
  readonly home: string;
  readonly events: readonly RelayEvent[];
}

export function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Redis did not ${what} within ${enqueueTimeoutMs} ms`)),
      enqueueTimeoutMs,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves once earlier writes are on enough replicas to survive a failover (ReplicaFence). */
export interface Fence {
  wait(): Promise<void>;
}

/**
 * Acknowledges a request on the cheapest durable write: one `XADD` of its events. The pump turns
 * entries into BullMQ jobs (same job ids and dedupe) and deletes them only after the jobs exist.
 * Bounded: with `maxBacklog` entries not yet jobs, requests get 503 until the pump catches up.
 */
export class Journal implements EventSink {
  readonly key: string;
  readonly #maxBacklog: number;
  readonly #home: string;
  /** Entries not yet jobs: the stream length at the pump's last look, plus what this process added since. */
  #backlog = 0;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    maxBacklog: number,
    defaultQueue: string,
    private readonly metrics: Metrics,
    private readonly fence?: Fence,
  ) {
    this.key = journalKey(prefix);
    this.#maxBacklog = maxBacklog;
    this.#home = defaultQueue;
  }

  get backlog(): number {
    return this.#backlog;
  }

  /** The pump's reading of the stream length (XLEN). */
  observed(length: number): void {
    this.#backlog = length;
  }

  async emit(events: readonly RelayEvent[], homeQueue: string | undefined): Promise<string[]> {
    if (events.length === 0) return [];
    if (this.#backlog >= this.#maxBacklog) {
      throw new UnavailableError(
        `the ingest journal holds ${this.#backlog} entries not yet jobs (queue.journal.maxBacklog ${this.#maxBacklog}): the pump is behind`,
      );
    }
    const stop = this.metrics.enqueueSeconds.startTimer();
    const add = this.redis
      .xadd(this.key, '*', 'q', homeQueue ?? this.#home, 'e', JSON.stringify(events))
      .then(() => this.fence?.wait());
    try {
      await withTimeout(add, 'take the journal entry');
    } catch (err) {
      // A late XADD may still land; the pump makes its jobs, and a provider retry is deduped.
      add.catch(() => {});
      throw new UnavailableError(`could not journal events: ${errorMessage(err)}`, { cause: err });
    } finally {
      stop();
    }
    this.#backlog++;
    return events.map((e) => e.id);
  }
}

/** Parses one stream entry as XREADGROUP / XAUTOCLAIM return it; undefined when it is not a journal entry. */
export function parseEntry(id: string, fields: readonly string[]): JournalEntry | undefined {
  let home: string | undefined;
  let json: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'q') home = fields[i + 1];
    else if (fields[i] === 'e') json = fields[i + 1];
  }
  if (home === undefined || json === undefined) return undefined;
  try {
    // Exact: a big integer the request kept (a raw JSON value) must reach the job digit for digit.
    const events = parseExactJson(json).value;
    return Array.isArray(events) ? { id, home, events: events as RelayEvent[] } : undefined;
  } catch {
    return undefined;
  }
}
