import type { RedisClient } from '../redis/connection.js';
import type { RelayEvent } from './envelope.js';

/**
 * Reads the jobs added to the relay's queues, in order, from BullMQ's own per-queue event streams
 * (`<prefix>:<queue>:events`): BullMQ writes an `added` entry (`jobId`, `name`) there in the same
 * script that stores the job, so following them costs the ingest path nothing. The streams are
 * capped by BullMQ (`streams.events.maxLen`, 10,000 entries by default, trimmed approximately), and
 * every job writes several entries (added, waiting, active, completed …), so a stream reaches back a
 * couple of thousand events per queue: hours on a quiet relay, minutes on a busy one.
 *
 * A position is one stream id per queue: `queue@1733250000000-3,billing@1733249000000-0` (queue
 * names percent-encoded), which fits an SSE `id:` line and a `Last-Event-ID` header.
 */
export type Positions = Map<string, string>;

/** One stream entry; `added` when it records a job added and the job is still there. */
export interface StreamEntry {
  readonly queue: string;
  readonly id: string;
  readonly added?: {
    /** The envelope exactly as stored in the job (JSON text): big integers keep every digit. */
    readonly json: string;
    readonly event: RelayEvent;
  };
}

/** Entries read per XREAD: bounds what one listener holds in memory at once. */
export const readCount = 64;

const streamIdPattern = /^\d+-\d+$/;

export const eventsKey = (prefix: string, queue: string) => `${prefix}:${queue}:events`;

export function formatPositions(positions: Positions): string {
  return [...positions].map(([queue, id]) => `${encodeURIComponent(queue)}@${id}`).join(',');
}

/** Parses a position; undefined when it is not one (a client's own Last-Event-ID, a typo). */
export function parsePositions(text: string): Positions | undefined {
  const positions: Positions = new Map();
  for (const part of text.split(',')) {
    const at = part.lastIndexOf('@');
    if (at <= 0) return undefined;
    const id = part.slice(at + 1);
    if (!streamIdPattern.test(id)) return undefined;
    try {
      positions.set(decodeURIComponent(part.slice(0, at)), id);
    } catch {
      return undefined;
    }
  }
  return positions.size > 0 ? positions : undefined;
}

export const compareIds = (a: string, b: string): number => {
  const [aMs = 0n, aSeq = 0n] = a.split('-').map(BigInt);
  const [bMs = 0n, bSeq = 0n] = b.split('-').map(BigInt);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
};

/**
 * Where each queue starts. A client's positions win; a queue they do not name (the config gained a
 * queue) starts at the oldest time they do name, so nothing is skipped. With no positions: from
 * `sinceMs`, else from the newest entry now in each stream (only what comes next).
 */
export async function startPositions(
  redis: RedisClient,
  prefix: string,
  queues: readonly string[],
  from: { positions?: Positions | undefined; sinceMs?: number | undefined },
): Promise<Positions> {
  const out: Positions = new Map();
  const given = from.positions;
  const oldestGiven = given
    ? [...given.values()].sort(compareIds)[0]?.replace(/-\d+$/, '-0')
    : from.sinceMs !== undefined
      ? `${Math.max(0, Math.floor(from.sinceMs))}-0`
      : undefined;
  for (const queue of queues) {
    const id = given?.get(queue) ?? oldestGiven;
    if (id !== undefined) {
      out.set(queue, id);
      continue;
    }
    const last = (await redis.xrevrange(eventsKey(prefix, queue), '+', '-', 'COUNT', 1)) as Array<
      [string, string[]]
    >;
    out.set(queue, last[0]?.[0] ?? '0-0');
  }
  return out;
}

/**
 * The queues whose stream may no longer hold everything after the given position: BullMQ trims
 * from the oldest end, so when entries were ever trimmed (Redis 7: `entries-added` > `length`) and
 * the oldest entry left is past the position, what lay between may be gone. (Redis 7.0 does not
 * record trimmed ids in `max-deleted-entry-id`, and Redis 6 has neither field: no warning there.)
 */
export async function trimmedSince(
  redis: RedisClient,
  prefix: string,
  positions: Positions,
): Promise<Array<{ queue: string; from: string; oldest: string | undefined }>> {
  const gaps = [];
  for (const [queue, from] of positions) {
    let info: unknown[];
    try {
      info = (await redis.call('XINFO', 'STREAM', eventsKey(prefix, queue))) as unknown[];
    } catch {
      continue; // no stream yet: nothing was ever trimmed
    }
    const field = (name: string) => {
      const at = info.indexOf(name);
      return at < 0 ? undefined : info[at + 1];
    };
    const added = Number(field('entries-added'));
    if (!(added > Number(field('length')))) continue;
    const oldest = (field('first-entry') as [string, string[]] | null | undefined)?.[0];
    // An empty stream that had entries lost everything up to the last id it gave out.
    const kept = oldest ?? String(field('last-generated-id'));
    if (compareIds(from, kept) < 0) gaps.push({ queue, from, oldest });
  }
  return gaps;
}

function field(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/**
 * One read across every queue's stream after `positions`, merged in stream-id order (each queue's
 * own order is kept; across queues it is by time). Every entry is returned, so a reader can move
 * past the ones that are not `added`; an added job still in Redis carries its envelope (one removed
 * since has none). With `blockMs`, waits that long for something new; without, answers at once.
 */
export async function readEntries(
  redis: RedisClient,
  prefix: string,
  positions: Positions,
  blockMs?: number,
): Promise<StreamEntry[]> {
  const queues = [...positions.keys()];
  const reply = (await redis.call(
    'XREAD',
    'COUNT',
    readCount,
    ...(blockMs === undefined ? [] : ['BLOCK', blockMs]),
    'STREAMS',
    ...queues.map((q) => eventsKey(prefix, q)),
    ...queues.map((q) => positions.get(q) as string),
  )) as Array<[string, Array<[string, string[]]>]> | null;
  if (!reply) return [];

  const entries: Array<{ queue: string; id: string; jobId: string | undefined }> = [];
  for (const [key, items] of reply) {
    const queue = queues.find((q) => eventsKey(prefix, q) === key);
    if (queue === undefined) continue;
    for (const [id, fields] of items)
      entries.push({
        queue,
        id,
        jobId: field(fields, 'event') === 'added' ? field(fields, 'jobId') : undefined,
      });
  }
  entries.sort((a, b) => compareIds(a.id, b.id));

  const wanted = entries.filter((e) => e.jobId !== undefined);
  const pipeline = redis.pipeline();
  for (const e of wanted) pipeline.hget(`${prefix}:${e.queue}:${e.jobId}`, 'data');
  const data = wanted.length > 0 ? ((await pipeline.exec()) ?? []) : [];

  let next = 0;
  return entries.map(({ queue, id, jobId }) => {
    if (jobId === undefined) return { queue, id };
    const [err, json] = data[next++] ?? [];
    if (err || typeof json !== 'string') return { queue, id };
    try {
      return { queue, id, added: { json, event: JSON.parse(json) as RelayEvent } };
    } catch {
      return { queue, id };
    }
  });
}
