import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../errors.js';
import type { RedisClient } from '../redis/connection.js';
import { type JournalEntry, parseEntry, pumpGroup } from './journal.js';
import type { Producer } from './producer.js';

/** What the relay asks of a pump, wherever it runs (this thread: `Pump`; its own: `PumpThread`). */
export interface JobPump {
  start(): void;
  /** Resolves once the journal is drained as far as this replica can, or at the deadline. */
  stop(timeoutMs: number): Promise<void>;
  /** Why `/readyz` should fail, if it should. */
  problem(): string | undefined;
}

/** The pump's view of the journal: its key, and the backlog it reports after each look. */
export interface PumpJournal {
  readonly key: string;
  readonly backlog: number;
  observed(length: number): void;
}

/** The pump's few log lines (a pino logger, or the pump thread's messages to one). */
export interface PumpLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface PumpOptions {
  /** A connection of its own: the pump blocks on XREADGROUP. */
  readonly redis: RedisClient;
  readonly journal: PumpJournal;
  readonly producer: Pick<Producer, 'addJobs'>;
  readonly log: PumpLog;
  /** Entries per batch (one XREADGROUP, one addBulk per queue, one XACK + XDEL). */
  readonly batch: number;
  /** A dead replica's entries are claimed after this long unacknowledged. */
  readonly claimIdleMs: number;
  /** No progress for this long, with entries waiting: `/readyz` says the pump is stuck. */
  readonly stuckAfterMs?: number;
  readonly now?: () => number;
  /**
   * Its name in the consumer group; default a new one. A pump thread that replaces a dead one takes
   * its predecessor's name, so it reads the entries that one left pending at once instead of after
   * `claimIdleMs`.
   */
  readonly consumer?: string;
}

/** A consumer name unique to this process and call. */
export const newConsumerName = (): string => `${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`;

type RawEntry = [string, string[] | null];

export interface PumpProgress {
  readonly at: number;
  readonly error?: string;
}

/** A pump is stuck when entries wait and it made no progress for `stuckAfterMs` (default 10 s). */
export function stuckReason(
  progress: PumpProgress,
  backlog: number,
  now: number,
  stuckAfterMs = 10_000,
): string | undefined {
  const idle = now - progress.at;
  if (idle < stuckAfterMs || backlog === 0) return undefined;
  return `journal pump: no progress for ${Math.round(idle / 1000)} s with ${backlog} entries waiting${progress.error ? ` (${progress.error})` : ''}`;
}

/**
 * Turns journal entries into BullMQ jobs: at least once (an entry is acknowledged and deleted only
 * after its jobs exist), deduplicated by event id (the producer's job id and dedupe key). Every
 * replica runs one, in one consumer group: entries are shared, and a dead replica's unacknowledged
 * entries are claimed (XAUTOCLAIM) by the living.
 * https://redis.io/docs/latest/develop/data-types/streams/#consumer-groups
 */
export class Pump implements JobPump {
  readonly consumer: string;
  readonly #o: PumpOptions;
  readonly #now: () => number;
  #running: Promise<void> | undefined;
  #stopping = false;
  #drainUntil = Number.POSITIVE_INFINITY;
  #lastProgress: number;
  #lastClaim = 0;
  #lastError: string | undefined;
  #jobs = 0;
  /** Read this consumer's pending entries ('0') before new ones ('>'). */
  #own = true;

  constructor(options: PumpOptions) {
    this.#o = options;
    this.consumer = options.consumer ?? newConsumerName();
    this.#now = options.now ?? Date.now;
    this.#lastProgress = this.#now();
    // A read (or XAUTOCLAIM) whose reply is lost with the connection has still made its entries
    // pending under this consumer, and ioredis resends it once reconnected, where '>' returns only
    // newer ones: they would wait claimIdleMs for a claim. So after a lost connection, and at each
    // claim round (a Cluster node's reconnects are not seen here), read our pending entries again.
    options.redis.on('close', () => {
      this.#own = true;
    });
  }

  /** Jobs this pump created (or found already there) since start. */
  get jobs(): number {
    return this.#jobs;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /** Why `/readyz` should fail: entries wait and the pump made no progress for `stuckAfterMs`. */
  problem(): string | undefined {
    return stuckReason(this.progress, this.#o.journal.backlog, this.#now(), this.#o.stuckAfterMs);
  }

  /** When the pump last got through a round, and what failed since. */
  get progress(): PumpProgress {
    return { at: this.#lastProgress, ...(this.#lastError ? { error: this.#lastError } : {}) };
  }

  /**
   * Stops after turning every entry this replica can see into jobs (new ones and its own pending),
   * or at the deadline: what is left stays in the journal for another replica or the next start.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    this.#drainUntil = this.#now() + timeoutMs;
    await this.#running;
  }

  async #run(): Promise<void> {
    const { redis, log } = this.#o;
    const key = this.#o.journal.key;
    let failures = 0;
    let groupReady = false;
    while (this.#now() < this.#drainUntil) {
      try {
        if (!groupReady) {
          await redis.call('XGROUP', 'CREATE', key, pumpGroup, '0', 'MKSTREAM').catch((err: unknown) => {
            if (!errorMessage(err).includes('BUSYGROUP')) throw err;
          });
          groupReady = true;
        }
        if (this.#now() - this.#lastClaim > Math.min(5000, this.#o.claimIdleMs)) {
          await this.#claim();
          this.#own = true;
        }
        const from = this.#own ? '0' : '>';
        const block = this.#stopping ? [] : ['BLOCK', '250'];
        const reply = (await redis.call(
          'XREADGROUP',
          'GROUP',
          pumpGroup,
          this.consumer,
          'COUNT',
          String(this.#o.batch),
          ...block,
          'STREAMS',
          key,
          from,
        )) as Array<[string, RawEntry[]]> | null;
        const raw = reply?.[0]?.[1] ?? [];
        if (raw.length > 0) await this.#process(raw);
        else if (from === '0') this.#own = false;
        else if (!this.#own) {
          this.#o.journal.observed(Number(await redis.call('XLEN', key)));
          if (this.#stopping) return;
        }
        this.#lastProgress = this.#now();
        this.#lastError = undefined;
        failures = 0;
      } catch (err) {
        this.#own = true;
        failures++;
        this.#lastError = errorMessage(err);
        // A Redis that came back without the stream (restored from an older snapshot) has no group.
        if (this.#lastError.includes('NOGROUP')) groupReady = false;
        if (failures === 1 || failures % 50 === 0)
          log.warn({ err: this.#lastError }, 'journal pump: retrying; entries stay in the journal');
        await sleep(Math.min(50 * 2 ** Math.min(failures, 5), 1000));
      }
    }
    log.warn({ backlog: this.#o.journal.backlog }, 'journal pump: stopped before the journal was empty');
  }

  /** Takes over entries another consumer left unacknowledged for `claimIdleMs` (a dead replica). */
  async #claim(): Promise<void> {
    this.#lastClaim = this.#now();
    let cursor = '0-0';
    do {
      let reply: [string, RawEntry[], string[]?];
      try {
        reply = (await this.#o.redis.call(
          'XAUTOCLAIM',
          this.#o.journal.key,
          pumpGroup,
          this.consumer,
          String(this.#o.claimIdleMs),
          cursor,
          'COUNT',
          String(this.#o.batch),
        )) as [string, RawEntry[], string[]?];
      } catch (err) {
        if (errorMessage(err).includes('unknown command')) return; // Redis < 6.2: no XAUTOCLAIM
        throw err;
      }
      cursor = reply[0];
      if (reply[1].length > 0) {
        this.#o.log.info({ entries: reply[1].length }, 'journal pump: claimed entries another replica left');
        await this.#process(reply[1]);
      }
    } while (cursor !== '0-0');
  }

  async #process(raw: readonly RawEntry[]): Promise<void> {
    const entries: JournalEntry[] = [];
    const ids: string[] = [];
    for (const [id, fields] of raw) {
      ids.push(id);
      // null fields: deleted after delivery; nothing left to do but acknowledge.
      if (!fields) continue;
      const entry = parseEntry(id, fields);
      if (entry) entries.push(entry);
      else this.#o.log.error({ id }, 'bug: unreadable journal entry; dropped');
    }
    if (entries.length > 0) await this.#o.producer.addJobs(entries);
    for (const e of entries) this.#jobs += e.events.length;
    const key = this.#o.journal.key;
    const done = await this.#o.redis
      .multi()
      .xack(key, pumpGroup, ...ids)
      .xdel(key, ...ids)
      .xlen(key)
      .exec();
    const length = done?.[2]?.[1];
    if (typeof length === 'number') this.#o.journal.observed(length);
  }
}
