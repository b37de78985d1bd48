import { channelList } from '../channels/index.js';
import { accountQueues, configuredChannels } from './accounts.js';
import type { AnyChannel } from './channel.js';
import type { RelayConfig } from './config/schema.js';
import { routingRules } from './destinations/config.js';
import { DeliveryState } from './destinations/state.js';
import { DeliveryWorkers } from './destinations/workers.js';
import type { Logger } from './log.js';
import type { LoopRunner } from './loops/runner.js';
import { QueueSet } from './queue/queues.js';
import { allQueues } from './queue/routing.js';
import type { RedisClient } from './redis/connection.js';
import { RejectionLog } from './rejections.js';
import { buildEventSinks } from './start/event-sink.js';
import { buildLoops } from './start/loops.js';
import { relayMetrics } from './start/metrics.js';
import { buildOpsServer } from './start/ops-server.js';
import { buildPublicServer } from './start/public-server.js';
import { connectRedis, quit } from './start/redis.js';
import { closeServer, listen } from './start/servers.js';
import { startTriggers } from './start/triggers.js';
import { logStartWarnings } from './start/warnings.js';

export interface RelayOptions {
  readonly config: RelayConfig;
  readonly log: Logger;
  readonly channels?: readonly AnyChannel[];
  /** Injected clock (ms) for signature windows; default `Date.now`. */
  readonly now?: () => number;
  /** Outbound loop lease time to live (tests shorten it); default 15 s. */
  readonly leaseTtlMs?: number;
}

export interface RunningRelay {
  /** `http://host:port` of the public and ops servers, with the ports actually bound (0 picks a free one). */
  readonly publicUrl: string;
  readonly opsUrl: string;
  readonly redis: RedisClient;
  readonly queues: QueueSet;
  readonly queueNames: readonly string[];
  readonly loops: LoopRunner;
  /** Stops accepting, lets in-flight requests finish (up to `server.shutdownTimeoutMs`), closes Redis. */
  close(): Promise<void>;
}

/** The relay, built step by step from the parts in src/start/, then listening and running. */
export async function startRelay(options: RelayOptions): Promise<RunningRelay> {
  const { config, log } = options;
  const now = options.now ?? Date.now;
  const configured = configuredChannels(config, options.channels ?? channelList);

  const redis = await connectRedis(config, log);
  const queues = new QueueSet(redis, config);
  // routes: plus one rule per destination, which copies matching events to the destination's queue.
  const routes = routingRules(config);
  const queueNames = allQueues(config.queue.name, accountQueues(configured), routes);
  const metrics = relayMetrics(config, redis, queues, queueNames);
  const rejections = new RejectionLog(redis, config.redis.prefix);
  const sinks = buildEventSinks({ config, log, queues, routes, metrics, now });
  logStartWarnings(config, configured, log);
  const triggers = await startTriggers(config, configured, redis, log, now);

  const { producer, ingest, pump } = sinks;
  const loops = buildLoops({ config, log, metrics, redis, producer, leaseTtlMs: options.leaseTtlMs, now });
  const common = { config, log, redis, metrics, rejections, configured, triggers, loops, now };
  const publicPort = buildPublicServer({ ...common, ingest });
  const deliveryState = new DeliveryState(redis, config.redis.prefix);
  const deliveries = new DeliveryWorkers({ config, log, metrics, state: deliveryState, now });
  const ops = buildOpsServer({ ...common, queues, queueNames, pump, deliveryState });

  const publicUrl = await listen(publicPort.server, config.server.port, config.server.host, 'public');
  const opsUrl = await listen(ops.server, config.server.opsPort, config.server.opsHost, 'ops');
  loops.start(configured);
  pump?.start();
  deliveries.start();

  const { shutdownTimeoutMs } = config.server;
  let closing: Promise<void> | undefined;
  const close = async () => {
    const started = Date.now();
    ops.listen.close();
    await Promise.all([
      loops.stop(),
      deliveries.close(shutdownTimeoutMs),
      (async () => {
        await closeServer(publicPort.server, shutdownTimeoutMs);
        // Every acknowledged request becomes a job before we go (what is left past the
        // deadline stays in the journal for another replica or the next start).
        await pump?.stop(Math.max(1000, shutdownTimeoutMs - (Date.now() - started)));
      })(),
      closeServer(ops.server, 1000),
    ]);
    publicPort.limits.close();
    await triggers?.lookup.close();
    await queues.close();
    await sinks.close();
    await quit(redis);
  };
  return {
    publicUrl,
    opsUrl,
    redis,
    queues,
    queueNames,
    loops,
    close() {
      closing ??= close();
      return closing;
    },
  };
}
