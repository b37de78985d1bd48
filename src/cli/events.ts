import { parseDuration } from '../config/size.js';
import { RelayError } from '../errors.js';
import type { RelayEvent } from '../queue/envelope.js';
import {
  assertReplayableStates,
  type EventFilter,
  type EventRecord,
  findEvent,
  type JobState,
  jobStates,
  listEvents,
  parseRate,
  replayableStates,
  replayMany,
  replayPlan,
  skipLine,
} from '../queue/inspect.js';
import { openContext } from './context.js';
import { fail, printJson, table, truncate } from './output.js';

export interface FilterFlags {
  config?: string;
  state?: string;
  channel?: string;
  account?: string;
  type?: string;
  since?: string;
  limit?: string;
  json?: boolean;
}

export function filterFrom(flags: FilterFlags, now = Date.now()): EventFilter {
  let states: JobState[] | undefined;
  if (flags.state) {
    states = flags.state.split(',').map((s) => s.trim()) as JobState[];
    const bad = states.find((s) => !(jobStates as readonly string[]).includes(s));
    if (bad) throw new RelayError('bad_flag', `--state ${bad}: use one of ${jobStates.join(', ')}`);
  }
  let sinceMs: number | undefined;
  if (flags.since) {
    const span = parseDuration(flags.since);
    if (span === undefined)
      throw new RelayError('bad_flag', `--since ${flags.since}: use a duration such as 90s, 15m, 2h or 7d`);
    sinceMs = now - span;
  }
  const limit = flags.limit === undefined ? undefined : Number(flags.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
    throw new RelayError('bad_flag', `--limit ${flags.limit}: use a whole number above 0`);
  return { states, channel: flags.channel, account: flags.account, type: flags.type, sinceMs, limit };
}

/** A short text for one line: the message text or subject, else the payload as JSON. */
export function eventSummary(event: RelayEvent, max = 48): string {
  const m = event.data?.message;
  const text = m?.text ?? (m?.subject as string | undefined) ?? JSON.stringify(event.data?.payload ?? '');
  return truncate(String(text ?? ''), max);
}

const summary = (record: EventRecord) => eventSummary(record.event);

export async function listCommand(flags: FilterFlags): Promise<void> {
  try {
    const filter = filterFrom(flags);
    const ctx = await openContext(flags.config);
    try {
      const records = await listEvents(ctx.queues, ctx.queueNames, filter);
      if (flags.json) return printJson(records);
      if (records.length === 0) {
        process.stdout.write(`no events in ${ctx.queueNames.join(', ')} match\n`);
        return;
      }
      const rows = records.map((r) => [
        r.enqueuedAt.replace('T', ' ').slice(0, 19),
        r.id,
        r.state,
        `${r.event.channel}/${r.event.account}`,
        r.event.type,
        r.event.subject ?? '',
        summary(r),
      ]);
      process.stdout.write(
        `${table(['RECEIVED', 'ID', 'STATE', 'CHANNEL/ACCOUNT', 'TYPE', 'SUBJECT', 'SUMMARY'], rows)}\n`,
      );
    } finally {
      await ctx.close();
    }
  } catch (err) {
    fail(err);
  }
}

export async function showCommand(id: string, flags: { config?: string; json?: boolean }): Promise<void> {
  try {
    const ctx = await openContext(flags.config);
    try {
      const found = await findEvent(ctx.queues, ctx.queueNames, id);
      if (found.length === 0)
        throw new RelayError(
          'not_found',
          `no event ${id} in ${ctx.queueNames.join(', ')} (completed events are kept queue.keepCompletedHours)`,
        );
      if (flags.json) return printJson(found);
      for (const r of found) {
        const lines = [
          `id:        ${r.id}`,
          `queue:     ${r.queue}`,
          `state:     ${r.state}`,
          `attempts:  ${r.attempts}`,
          `enqueued:  ${r.enqueuedAt}`,
          ...(r.event.replayof
            ? [
                `replay of: ${r.event.replayof}${'replayedat' in r.event ? ` (replayed ${String(r.event.replayedat)}, past dedupe on purpose)` : ''}`,
              ]
            : []),
          ...(r.failedReason ? [`failed:    ${r.failedReason}`] : []),
          ...(r.stacktrace?.length
            ? ['stack:', ...r.stacktrace.map((s) => `  ${s.split('\n').join('\n  ')}`)]
            : []),
          'event:',
          JSON.stringify(r.event, null, 2),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
    } finally {
      await ctx.close();
    }
  } catch (err) {
    fail(err);
  }
}

/** One updating line on a terminal: `replaying 120/500 [=====     ] 24%`; nothing when not a TTY. */
export function progressLine(done: number, total: number, width = 30): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
  return `replaying ${done}/${total} [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${pct}%`;
}

/** Bulk replays this long or longer show a progress line on a terminal. */
const progressFrom = 20;

export async function replayCommand(
  ids: string[],
  flags: FilterFlags & { dryRun?: boolean; rate?: string },
): Promise<void> {
  try {
    if (ids.length === 0 && !flags.state)
      throw new RelayError(
        'bad_flag',
        'name event ids, or select by --state failed|completed (with --channel, --since …)',
      );
    const filter = filterFrom(flags);
    try {
      assertReplayableStates(filter.states, '--state');
    } catch (err) {
      throw new RelayError('bad_flag', (err as Error).message);
    }
    const ratePerSec = flags.rate === undefined ? undefined : parseRate(flags.rate);
    if (flags.rate !== undefined && ratePerSec === undefined)
      throw new RelayError('bad_flag', `--rate ${flags.rate}: use a rate such as 10/s or 300/m`);
    const ctx = await openContext(flags.config);
    try {
      const found =
        ids.length > 0
          ? (await Promise.all(ids.map((id) => findEvent(ctx.queues, ctx.queueNames, id)))).flat()
          : await listEvents(ctx.queues, ctx.queueNames, {
              ...filter,
              states: filter.states ?? replayableStates,
              limit: filter.limit ?? 10_000,
            });
      const missing = ids.filter((id) => !found.some((r) => r.id === id));
      for (const id of missing) process.stderr.write(`relay: no event ${id}; skipped\n`);
      // The dry run and the real run count the same events: those a replay acts on.
      const { replayable: records, skipped } = replayPlan(found);
      for (const s of skipped) process.stderr.write(`relay: ${skipLine(s)}; skipped\n`);
      if (missing.length > 0 || skipped.length > 0) process.exitCode = 1;
      const estimate = ratePerSec ? Math.ceil(records.length / ratePerSec) : undefined;
      if (flags.dryRun) {
        if (flags.json)
          return printJson({
            count: records.length,
            dryRun: true,
            ids: records.map((r) => r.id),
            skipped,
            ...(estimate !== undefined ? { estimatedSec: estimate } : {}),
          });
        const sample = records.slice(0, 10);
        const lines = [
          `${records.length} event(s) would be replayed (dry run; nothing enqueued)${estimate !== undefined ? `, about ${estimate}s at ${flags.rate}` : ''}`,
          ...sample.map(
            (r) => `  ${r.id}  ${r.state}  ${r.event.channel}/${r.event.account}  ${r.event.type}`,
          ),
          ...(records.length > sample.length ? [`  … and ${records.length - sample.length} more`] : []),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
        return;
      }
      const showProgress = process.stderr.isTTY === true && !flags.json && records.length >= progressFrom;
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      const outcomes = await replayMany(ctx.queues, records, {
        ratePerSec,
        signal: stop.signal,
        ...(showProgress
          ? { onProgress: (done, total) => process.stderr.write(`\r${progressLine(done, total)}`) }
          : {}),
      }).finally(() => {
        process.off('SIGINT', onSignal);
        if (showProgress) process.stderr.write('\r\x1b[2K');
      });
      if (stop.signal.aborted) {
        process.stderr.write(`relay: interrupted after ${outcomes.length} of ${records.length}\n`);
        process.exitCode = 1;
      }
      if (flags.json) return printJson({ count: outcomes.length, replayed: outcomes, skipped });
      for (const o of outcomes) {
        process.stdout.write(
          o.action === 'copied'
            ? `${o.id}: copied as ${o.newId} (${o.queue})\n`
            : `${o.id}: retried (${o.queue})\n`,
        );
      }
      process.stdout.write(`${outcomes.length} event(s) replayed\n`);
    } finally {
      await ctx.close();
    }
  } catch (err) {
    fail(err);
  }
}
