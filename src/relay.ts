import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { channelList } from '../channels/index.js';
import { accountQueues, configuredChannels, indexAccounts } from './accounts.js';
import type { AnyChannel } from './channel.js';
import { deprecationWarnings } from './config/deprecated.js';
import type { RelayConfig } from './config/schema.js';
import { routingRules } from './destinations/config.js';
import { DeliveryState, destinationStatuses } from './destinations/state.js';
import { DeliveryWorkers } from './destinations/workers.js';
import { errorMessage, RelayError } from './errors.js';
import { ListenHub } from './http/admin-listen.js';
import { InFlight, registerInFlightGauge } from './http/in-flight.js';
import type { IngressDeps } from './http/ingress.js';
import { createOpsApp } from './http/ops-app.js';
import { createPublicHandler } from './http/public-app.js';
import { PublicRateLimits } from './http/rate-limit.js';
import { type Logger, requestLogger } from './log.js';
import { LoopRunner } from './loops/runner.js';
import { Metrics } from './metrics.js';
import { toEnvelope } from './queue/envelope.js';
import { Journal, journalKey } from './queue/journal.js';
import { Producer } from './queue/producer.js';
import { type JobPump, Pump } from './queue/pump.js';
import { PumpThread } from './queue/pump-thread.js';
import { QueueSet } from './queue/queues.js';
import { allQueues } from './queue/routing.js';
import { checkRedisVersion, createRedis, type RedisClient, waitForReady } from './redis/connection.js';
import { replicaFenceFor } from './redis/replicas.js';
import { describeRedis } from './redis/url.js';
import { RejectionLog } from './rejections.js';
import { RuntimeTriggers } from './triggers/runtime.js';
import { TriggerStore } from './triggers/store.js';

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

/** Which server, and the settings that move it, for the one line a taken port gets. */
const portSettings = {
  public: 'PORT or server.port',
  ops: 'OPS_PORT or server.opsPort',
} as const;

function listen(
  server: Server,
  port: number,
  host: string | undefined,
  which: keyof typeof portSettings,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new RelayError(
              'port_in_use',
              `${which} port ${port} is already in use (another relay?): stop it, or set ${portSettings[which]}`,
              { cause: err },
            )
          : err,
      );
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const a = server.address() as AddressInfo;
      const h =
        a.family === 'IPv6'
          ? a.address === '::'
            ? '127.0.0.1'
            : `[${a.address}]`
          : a.address === '0.0.0.0'
            ? '127.0.0.1'
            : a.address;
      resolve(`http://${h}:${a.port}`);
    });
  });
}

/**
 * Stops accepting, answers what is in flight, and tells keep-alive clients to go: every response
 * from now on says `Connection: close`, and connections that fall idle are closed as they do.
 */
function closeServer(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    server.prependListener('request', (_req, res) => res.setHeader('connection', 'close'));
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

export async function startRelay(options: RelayOptions): Promise<RunningRelay> {
  const { config, log } = options;
  const now = options.now ?? Date.now;
  const configured = configuredChannels(config, options.channels ?? channelList);

  const redis = createRedis(config.redis, 'producer');
  redis.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
  try {
    await waitForReady(redis, 5000);
    const { version, warning } = await checkRedisVersion(redis);
    if (warning) log.warn(warning);
    log.debug({ version }, 'redis version');
  } catch (err) {
    redis.disconnect();
    throw new RelayError(
      'redis_unreachable',
      `cannot reach Redis at ${describeRedis(config.redis)}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  let redisDown = false;
  redis.on('close', () => {
    if (!redisDown)
      log.warn(
        { redis: describeRedis(config.redis) },
        'Redis connection lost: answering 503 until it is back',
      );
    redisDown = true;
  });
  redis.on('ready', () => {
    if (redisDown) log.info('Redis connection restored');
    redisDown = false;
  });

  const queues = new QueueSet(redis, config);
  // routes: plus one rule per destination, which copies matching events to the destination's queue.
  const routes = routingRules(config);
  const queueNames = allQueues(config.queue.name, accountQueues(configured), routes);
  const journalSettings = config.queue.journal?.enabled ? config.queue.journal : undefined;
  const journaling = journalSettings !== undefined;
  const metrics = new Metrics(
    async () => {
      const out: Array<{ queue: string; state: string; count: number }> = [];
      for (const name of queueNames) {
        const counts = await queues
          .get(name)
          .getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
        for (const [state, count] of Object.entries(counts)) out.push({ queue: name, state, count });
      }
      return out;
    },
    journaling ? () => journalLag(redis, journalKey(config.redis.prefix)) : undefined,
  );
  const rejections = new RejectionLog(redis, config.redis.prefix);
  // Replication is asynchronous: with replicas, a write is acknowledged only once they hold it,
  // so a failover cannot lose what a provider was told is safe (proven in test/faults/sentinel).
  const fencing = replicaFenceFor(config.redis);
  const fenceRedis = fencing?.connection;
  fenceRedis?.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
  const fence = fencing?.fence;
  const producer = new Producer(queues, { ...config, routes }, metrics, fence);
  // The ingest journal: requests are acknowledged on one XADD, the pump makes the jobs.
  let journal: Journal | undefined;
  let pump: JobPump | undefined;
  let journalRedis: RedisClient | undefined;
  let pumpRedis: RedisClient | undefined;
  if (journalSettings) {
    journalRedis = createRedis(config.redis, 'producer', 'relay-journal');
    // Only XADDs on this connection (no BullMQ script, the cause of ioredis#1931 on the producer's):
    // auto-pipelining batches the concurrent requests' writes into one socket write.
    journalRedis.options.enableAutoPipelining = true;
    journalRedis.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
    journal = new Journal(
      journalRedis,
      config.redis.prefix,
      journalSettings.maxBacklog,
      config.queue.name,
      metrics,
      fence,
    );
    const claimIdleMs = journalSettings.claimIdleSec * 1000;
    if (journalSettings.pump === 'thread') {
      pump = new PumpThread({
        config: {
          redis: config.redis,
          queue: config.queue,
          routes,
          destinations: config.destinations.map((d) => ({ name: d.name })),
        },
        journal,
        metrics,
        log,
        batch: journalSettings.batch,
        claimIdleMs,
      });
    } else {
      pumpRedis = createRedis(config.redis, 'blocking', 'relay-pump');
      pumpRedis.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
      pump = new Pump({
        redis: pumpRedis,
        journal,
        producer,
        log,
        batch: journalSettings.batch,
        claimIdleMs,
        now,
      });
    }
  }
  const index = indexAccounts(configured);

  for (const { channel, accounts } of configured) {
    for (const account of accounts)
      for (const warning of channel.warnings?.(account) ?? []) log.warn({ channel: channel.name }, warning);
  }
  if (config.queue.keepCompletedHours < config.queue.dedupeHours) {
    log.warn(
      'queue.keepCompletedHours is below queue.dedupeHours: completed jobs vanish before their dedupe window ends',
    );
  }

  // Run-time generic triggers: looked up after the config's, and never able to shadow one.
  const configuredTriggers = new Set(index.get('webhook')?.keys() ?? []);
  const triggerSubscriber = createRedis(config.redis, 'blocking', 'relay-triggers');
  triggerSubscriber.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
  const runtimeTriggers = new RuntimeTriggers(redis, triggerSubscriber, config.redis.prefix, log, 5000, now);
  await runtimeTriggers.start();
  const triggers = new TriggerStore(redis, config.redis.prefix, configuredTriggers, now);
  await triggers.hashStoredTokens().then(
    (count) => count > 0 && log.info({ count }, 'run-time trigger tokens now kept as SHA-256 digests'),
    (err) =>
      log.warn({ err: errorMessage(err) }, 'could not hash stored trigger tokens; trying at next start'),
  );

  const inFlight = new InFlight(config.server.maxInFlight, (count) =>
    log.warn({ inFlight: count }, 'over capacity (server.maxInFlight): answering 503 to new requests'),
  );
  const ingress: IngressDeps = {
    producer: journal ?? producer,
    rejections,
    metrics,
    log,
    requestLog: requestLogger(log),
    now,
    publicUrl: config.publicUrl,
    bodyLimit: config.server.bodyLimit,
    accounts: (channel, id) =>
      index.get(channel.name)?.get(id) ??
      (channel.name === 'webhook' ? runtimeTriggers.lookup(id) : undefined),
    notifyLoop: (channel, account, loop, message) => loops.notify(channel, account, loop, message),
    inFlight,
  };
  for (const warning of deprecationWarnings(config)) log.warn(warning);
  registerInFlightGauge(inFlight, metrics.registry);
  const limits = new PublicRateLimits(redis, config.redis.prefix, config.server.rateLimit);
  // A client that never finishes its headers or body must not hold a socket for long. Node checks
  // these only every connectionsCheckingInterval (30 s by default): check often enough that a quiet
  // client is cut within a tenth of the limit past it (at most 1 s).
  const { headersTimeoutMs, requestTimeoutMs } = config.server;
  const publicServer = createServer(
    {
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, Math.ceil(headersTimeoutMs / 10)),
    },
    createPublicHandler(
      ingress,
      configured.map((c) => c.channel),
      config.server.trustProxy,
      limits,
    ),
  );
  publicServer.keepAliveTimeout = 65_000;

  const loops = new LoopRunner({
    log,
    metrics,
    now,
    redis,
    prefix: config.redis.prefix,
    ...(options.leaseTtlMs
      ? { leaseTtlMs: options.leaseTtlMs, standbyPollMs: Math.max(100, Math.floor(options.leaseTtlMs / 5)) }
      : {}),
    publicUrl: config.publicUrl,
    emit: (channel, account, events) => {
      const id = channel.accountId(account);
      return producer.emit(
        events.map((e) => toEnvelope(channel, id, e, now())),
        channel.queueOf(account),
      );
    },
  });
  const deliveryState = new DeliveryState(redis, config.redis.prefix);
  const deliveries = new DeliveryWorkers({ config, log, metrics, state: deliveryState, now });
  const adminDeps = {
    token: config.admin.token,
    queues,
    queueNames,
    rejections,
    destinations: () => destinationStatuses(config.destinations, deliveryState, queues),
    channels: configured,
    loops: () => loops.statuses,
    now,
    triggers,
    log,
    listen: new ListenHub({ redis: config.redis, queueNames, now, log }),
  };
  const opsServer = createServer(
    createOpsApp({
      ...adminDeps,
      metrics,
      readiness: async () => {
        const warnings = loops.problems();
        const stuck = pump?.problem();
        try {
          await Promise.race([
            redis.ping(),
            new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 1 s')), 1000)),
          ]);
          return { reasons: [...(stuck ? [stuck] : []), ...(await loops.unowned())], warnings };
        } catch (err) {
          return { reasons: [`redis: ${errorMessage(err)}`], warnings };
        }
      },
    }),
  );

  const publicUrl = await listen(publicServer, config.server.port, config.server.host, 'public');
  const opsUrl = await listen(opsServer, config.server.opsPort, config.server.opsHost, 'ops');
  loops.start(configured);
  pump?.start();
  deliveries.start();

  let closing: Promise<void> | undefined;
  return {
    publicUrl,
    opsUrl,
    redis,
    queues,
    queueNames,
    loops,
    close() {
      closing ??= (async () => {
        const started = Date.now();
        adminDeps.listen.close();
        await Promise.all([
          loops.stop(),
          deliveries.close(config.server.shutdownTimeoutMs),
          (async () => {
            await closeServer(publicServer, config.server.shutdownTimeoutMs);
            // Every acknowledged request becomes a job before we go (what is left past the
            // deadline stays in the journal for another replica or the next start).
            await pump?.stop(Math.max(1000, config.server.shutdownTimeoutMs - (Date.now() - started)));
          })(),
          closeServer(opsServer, 1000),
        ]);
        limits.close();
        await runtimeTriggers.close();
        await queues.close();
        for (const r of [journalRedis, pumpRedis, fenceRedis]) await r?.quit().catch(() => r.disconnect());
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}

/** The journal's backlog and the age of its oldest entry (stream ids start with their time in ms). */
async function journalLag(redis: RedisClient, key: string): Promise<{ backlog: number; lagSeconds: number }> {
  const replies = (await redis.multi().xlen(key).xrange(key, '-', '+', 'COUNT', 1).exec()) ?? [];
  const failed = replies.find(([err]) => err)?.[0];
  if (failed) throw failed;
  const length = Number(replies[0]?.[1] ?? 0);
  const first = replies[1]?.[1] as Array<[string, string[]]> | undefined;
  const oldest = Number(first?.[0]?.[0].split('-')[0] ?? Number.NaN);
  // Redis ids carry Redis's clock; Date.now, not the injected clock, is the one to compare with.
  return {
    backlog: length,
    lagSeconds: Number.isNaN(oldest) ? 0 : Math.max(0, (Date.now() - oldest) / 1000),
  };
}
