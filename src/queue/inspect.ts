import type { Job, JobType } from 'bullmq';
import { RelayError } from '../errors.js';
import { type RelayEvent, replayId } from './envelope.js';
import type { EventQueue, QueueSet } from './queues.js';

export const jobStates = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;
export type JobState = (typeof jobStates)[number];

/** Completed events are copied, failed ones retried; every other state is still on its way to a worker. */
export const replayableStates = ['completed', 'failed'] as const satisfies readonly JobState[];

const stillQueued = 'not processed yet, a worker will still receive it';
const whyNotReplayable: Record<string, string> = {
  waiting: stillQueued,
  prioritized: stillQueued,
  delayed: 'waiting for its next attempt, a worker will still receive it',
  active: 'a worker is processing it now',
};

const onlyReplayable = 'only completed or failed events can be replayed';

/** Why an event in `state` cannot be replayed, as one line, or undefined when it can. */
export function notReplayable(state: string): string | undefined {
  if ((replayableStates as readonly string[]).includes(state)) return undefined;
  return `${state} (${whyNotReplayable[state] ?? 'not a state a replay acts on'}); ${onlyReplayable}`;
}

/** Refuses states a replay never acts on, in one line naming the first such state and why. */
export function assertReplayableStates(states: readonly string[] | undefined, what: string): void {
  const bad = states?.find((s) => notReplayable(s) !== undefined);
  if (bad !== undefined)
    throw new RelayError(
      'bad_request',
      `${what} ${bad}: cannot replay events that are ${notReplayable(bad)}`,
    );
}

export interface SkippedReplay {
  readonly id: string;
  readonly queue: string;
  readonly state: string;
  readonly reason: string;
}

/** `event ID in QUEUE is STATE (why); only completed or failed events can be replayed` */
export const skipLine = (s: SkippedReplay): string => `event ${s.id} in ${s.queue} is ${s.reason}`;

/**
 * Splits found events into those a replay acts on and those it skips, so a dry run counts exactly
 * what the real run replays.
 */
export function replayPlan(records: readonly EventRecord[]): {
  replayable: EventRecord[];
  skipped: SkippedReplay[];
} {
  const replayable: EventRecord[] = [];
  const skipped: SkippedReplay[] = [];
  for (const record of records) {
    const reason = notReplayable(record.state);
    if (reason === undefined) replayable.push(record);
    else skipped.push({ id: record.id, queue: record.queue, state: record.state, reason });
  }
  return { replayable, skipped };
}

export interface EventFilter {
  readonly states?: readonly JobState[] | undefined;
  readonly channel?: string | undefined;
  readonly account?: string | undefined;
  readonly type?: string | undefined;
  /** Only events received at or after this time (ms). */
  readonly sinceMs?: number | undefined;
  readonly limit?: number | undefined;
}

export interface EventRecord {
  readonly id: string;
  readonly queue: string;
  readonly state: string;
  readonly attempts: number;
  readonly enqueuedAt: string;
  readonly failedReason?: string;
  readonly stacktrace?: readonly string[];
  readonly event: RelayEvent;
}

type EventJob = Job<RelayEvent, unknown, string>;

const pageSize = 200;
/** A list scans at most this many jobs per queue and state, so a huge backlog cannot stall the CLI. */
const scanLimit = 20_000;

/** The channel, account and type filters of `/admin/events`, for one envelope. */
export function eventMatches(e: RelayEvent | undefined, f: EventFilter): boolean {
  if (!e || typeof e !== 'object') return false;
  if (f.channel && e.channel !== f.channel) return false;
  if (f.account && e.account !== f.account) return false;
  if (f.type && !(f.type.endsWith('*') ? e.type?.startsWith(f.type.slice(0, -1)) : e.type === f.type))
    return false;
  return true;
}

function toRecord(queue: string, state: string, job: EventJob): EventRecord {
  return {
    id: job.id ?? '',
    queue,
    state,
    attempts: job.attemptsMade,
    enqueuedAt: new Date(job.timestamp).toISOString(),
    ...(job.failedReason ? { failedReason: job.failedReason } : {}),
    ...(job.stacktrace?.length ? { stacktrace: job.stacktrace } : {}),
    event: job.data,
  };
}

async function scanState(
  queue: EventQueue,
  state: JobState,
  f: EventFilter,
  limit: number,
): Promise<EventRecord[]> {
  const out: EventRecord[] = [];
  for (let start = 0; start < scanLimit && out.length < limit; start += pageSize) {
    const jobs = (await queue.getJobs([state as JobType], start, start + pageSize - 1, false)) as EventJob[];
    if (jobs.length === 0) break;
    let older = false;
    for (const job of jobs) {
      if (!job) continue;
      if (f.sinceMs !== undefined && job.timestamp < f.sinceMs) {
        older = true;
        continue;
      }
      if (eventMatches(job.data, f)) out.push(toRecord(queue.name, state, job));
    }
    // Finished sets are ordered by finish time, not arrival, so only stop early on the wait lists.
    if (older && (state === 'waiting' || state === 'prioritized')) break;
    if (jobs.length < pageSize) break;
  }
  return out;
}

/** Newest first, across every queue the relay writes to. */
export async function listEvents(
  queues: QueueSet,
  names: readonly string[],
  f: EventFilter,
): Promise<EventRecord[]> {
  const limit = f.limit ?? 50;
  const states = f.states?.length ? f.states : jobStates;
  const found: EventRecord[] = [];
  for (const name of names) {
    for (const state of states) found.push(...(await scanState(queues.get(name), state, f, limit)));
  }
  found.sort((a, b) => b.enqueuedAt.localeCompare(a.enqueuedAt));
  return found.slice(0, limit);
}

export async function findEvent(
  queues: QueueSet,
  names: readonly string[],
  id: string,
): Promise<EventRecord[]> {
  const out: EventRecord[] = [];
  for (const name of names) {
    const queue = queues.get(name);
    const job = (await queue.getJob(id)) as EventJob | undefined;
    if (job) out.push(toRecord(name, await job.getState(), job));
  }
  return out;
}

export interface ReplayOutcome {
  readonly id: string;
  readonly queue: string;
  readonly action: 'copied' | 'retried';
  /** The copy's id for a completed event; the same id for a retried failed one. */
  readonly newId: string;
}

/** A replayed copy: `replayof` names the original, `replayedat` says when it was copied past dedupe. */
export type ReplayedEvent = RelayEvent & { readonly replayedat: string };

/**
 * Completed: a copy with a new id, `replayof` and `replayedat` (CloudEvents extension attributes),
 * added without a deduplication key: a replay bypasses dedupe on purpose. Failed: the job is
 * retried in place. Either way the original is left as it was.
 */
export async function replayRecord(queues: QueueSet, record: EventRecord): Promise<ReplayOutcome> {
  const queue = queues.get(record.queue);
  if (record.state === 'completed') {
    const copy: ReplayedEvent = {
      ...record.event,
      id: replayId(record.id),
      replayof: record.id,
      replayedat: new Date().toISOString(),
    };
    await queue.add(copy.type, copy, { jobId: copy.id });
    return { id: record.id, queue: record.queue, action: 'copied', newId: copy.id };
  }
  if (record.state === 'failed') {
    const job = await queue.getJob(record.id);
    if (!job)
      throw new RelayError(
        'not_found',
        `event ${record.id} disappeared from ${record.queue} before it could be retried`,
      );
    await job.retry('failed');
    return { id: record.id, queue: record.queue, action: 'retried', newId: record.id };
  }
  const reason = notReplayable(record.state) ?? record.state;
  throw new RelayError('not_replayable', skipLine({ ...record, reason }));
}

/** `10/s`, `300/m`, `5` (per second) → events per second; undefined when unreadable or not above 0. */
export function parseRate(value: string | number): number | undefined {
  if (typeof value === 'number') return value > 0 && Number.isFinite(value) ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|m|h))?\s*$/i.exec(value);
  if (!match) return undefined;
  const per = { s: 1, m: 60, h: 3600 }[(match[2] ?? 's').toLowerCase() as 's'];
  const rate = Number(match[1]) / per;
  return rate > 0 ? rate : undefined;
}

export interface ReplayManyOptions {
  /** At most this many replays per second; unlimited when absent. */
  readonly ratePerSec?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  onProgress?(done: number, total: number): void;
}

/** Replays one after the other, spaced to `ratePerSec` so workers are not flooded. */
export async function replayMany(
  queues: QueueSet,
  records: readonly EventRecord[],
  options: ReplayManyOptions = {},
): Promise<ReplayOutcome[]> {
  const outcomes: ReplayOutcome[] = [];
  const started = performance.now();
  const spacingMs = options.ratePerSec ? 1000 / options.ratePerSec : 0;
  for (const [i, record] of records.entries()) {
    if (options.signal?.aborted) break;
    const wait = started + i * spacingMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    outcomes.push(await replayRecord(queues, record));
    options.onProgress?.(i + 1, records.length);
  }
  return outcomes;
}
