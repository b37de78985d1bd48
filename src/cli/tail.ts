import { QueueEvents } from 'bullmq';
import type { RelayEvent } from '../queue/envelope.js';
import { createRedis, type RedisClient } from '../redis/connection.js';
import { openContext } from './context.js';
import { eventSummary } from './events.js';
import { fail } from './output.js';

/** `2026-11-21 10:00:00  webhook/billing/invoices  webhook.received  subject  text  (id)`. */
export function tailLine(event: RelayEvent): string {
  return [
    (event.receivedat ?? '').replace('T', ' ').slice(0, 19),
    `${event.channel}/${event.account}`,
    event.type,
    ...(event.subject ? [event.subject] : []),
    eventSummary(event, 60),
    `(${event.id}${event.replayof ? `, replay of ${event.replayof}` : ''})`,
  ].join('  ');
}

/**
 * `relay tail`: every event as it is enqueued, in every queue the config names, read from BullMQ's
 * event stream (QueueEvents 'added') from the moment the command starts. An event copied to several
 * queues by `routes:` prints once.
 */
export async function tailCommand(flags: {
  config?: string;
  channel?: string;
  json?: boolean;
}): Promise<void> {
  let ctx: Awaited<ReturnType<typeof openContext>>;
  try {
    ctx = await openContext(flags.config);
  } catch (err) {
    fail(err);
  }
  const { config } = ctx.loaded;
  const listeners: Array<{ events: QueueEvents; connection: RedisClient }> = [];
  const seen = new Set<string>();
  const print = (event: RelayEvent) => {
    if (flags.channel && event.channel !== flags.channel) return;
    if (seen.has(event.id)) return;
    seen.add(event.id);
    if (seen.size > 5000) seen.delete(seen.values().next().value as string);
    process.stdout.write(`${flags.json ? JSON.stringify(event) : tailLine(event)}\n`);
  };

  try {
    for (const name of ctx.queueNames) {
      // Start right after the newest entry now in the stream, so nothing added from here on is missed.
      const last = (await ctx.redis.xrevrange(
        `${config.redis.prefix}:${name}:events`,
        '+',
        '-',
        'COUNT',
        1,
      )) as Array<[string, string[]]>;
      const connection = createRedis(config.redis, 'blocking', 'relay-tail');
      connection.on('error', () => {});
      const events = new QueueEvents(name, {
        connection,
        prefix: config.redis.prefix,
        lastEventId: last[0]?.[0] ?? '0-0',
      });
      events.on('error', () => {});
      const queue = ctx.queues.get(name);
      events.on('added', ({ jobId }) => {
        queue.getJob(jobId).then(
          (job) => {
            if (job?.data) print(job.data);
          },
          () => {},
        );
      });
      listeners.push({ events, connection });
    }
    await Promise.all(listeners.map((l) => l.events.waitUntilReady()));
  } catch (err) {
    fail(err);
  }
  process.stderr.write(
    `relay: tailing ${ctx.queueNames.join(', ')}${flags.channel ? ` (channel ${flags.channel})` : ''}; Ctrl-C to stop\n`,
  );

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  for (const { events, connection } of listeners) {
    await events.close().catch(() => {});
    connection.disconnect();
  }
  await ctx.close();
}
