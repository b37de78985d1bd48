import { createServer, type Server } from 'node:http';
import { type ChannelAccounts, indexAccounts } from '../accounts.js';
import type { RelayConfig } from '../config/schema.js';
import { InFlight, registerInFlightGauge } from '../http/in-flight.js';
import type { IngressDeps } from '../http/ingress.js';
import { createPublicHandler } from '../http/public-app.js';
import { PublicRateLimits } from '../http/rate-limit.js';
import { Turns } from '../http/turns.js';
import { type Logger, requestLogger } from '../log.js';
import type { LoopRunner } from '../loops/runner.js';
import type { Metrics } from '../metrics.js';
import type { EventSink } from '../queue/journal.js';
import type { RedisClient } from '../redis/connection.js';
import type { RejectionLog } from '../rejections.js';
import type { TriggerParts } from './triggers.js';

export interface PublicServerDeps {
  readonly config: RelayConfig;
  readonly log: Logger;
  readonly redis: RedisClient;
  readonly metrics: Metrics;
  readonly rejections: RejectionLog;
  readonly configured: readonly ChannelAccounts[];
  readonly ingest: EventSink;
  readonly triggers: TriggerParts | undefined;
  /** The loops routes may notify (`RouteContext.notifyLoop`). */
  readonly loops: LoopRunner;
  now(): number;
}

/** The public port: every channel's routes, behind the in-flight bound and the rate limits. */
export function buildPublicServer(deps: PublicServerDeps): { server: Server; limits: PublicRateLimits } {
  const { config, log, configured, triggers } = deps;
  const index = indexAccounts(configured);
  const inFlight = new InFlight(config.server.maxInFlight, (count) =>
    log.warn({ inFlight: count }, 'over capacity (server.maxInFlight): answering 503 to new requests'),
  );
  // A request that waited a second for its turn is refused, leaving the sender 2 s of Slack's 3.
  const turns = new Turns(1000, (waiting) =>
    log.warn({ waiting }, 'over capacity (waited 1 s for a turn): answering 503 to the oldest requests'),
  );
  const ingress: IngressDeps = {
    producer: deps.ingest,
    rejections: deps.rejections,
    metrics: deps.metrics,
    log,
    requestLog: requestLogger(log),
    now: deps.now,
    publicUrl: config.publicUrl,
    bodyLimit: config.server.bodyLimit,
    accounts: (channel, id) =>
      index.get(channel.name)?.get(id) ??
      (channel === triggers?.channel.channel ? triggers.lookup.lookup(id) : undefined),
    notifyLoop: (channel, account, loop, message) => deps.loops.notify(channel, account, loop, message),
    inFlight,
    turns,
  };
  registerInFlightGauge(inFlight, turns, deps.metrics.registry);
  const limits = new PublicRateLimits(deps.redis, config.redis.prefix, config.server.rateLimit);
  // A client that never finishes its headers or body must not hold a socket for long. Node checks
  // these only every connectionsCheckingInterval (30 s by default): check often enough that a quiet
  // client is cut within a tenth of the limit past it (at most 1 s).
  const { headersTimeoutMs, requestTimeoutMs } = config.server;
  const server = createServer(
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
  server.keepAliveTimeout = 65_000;
  server.on('connection', () => turns.accepted());
  return { server, limits };
}
