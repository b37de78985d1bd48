import { createServer, type Server } from 'node:http';
import type { ChannelAccounts } from '../accounts.js';
import type { RelayConfig } from '../config/schema.js';
import type { DeliveryState } from '../destinations/state.js';
import { destinationStatuses } from '../destinations/state.js';
import { errorMessage } from '../errors.js';
import { ListenHub } from '../http/admin-listen.js';
import { createOpsApp } from '../http/ops-app.js';
import type { Logger } from '../log.js';
import type { LoopRunner } from '../loops/runner.js';
import type { Metrics } from '../metrics.js';
import type { JobPump } from '../queue/pump.js';
import type { QueueSet } from '../queue/queues.js';
import type { RedisClient } from '../redis/connection.js';
import type { RejectionLog } from '../rejections.js';
import type { TriggerParts } from './triggers.js';

export interface OpsServerDeps {
  readonly config: RelayConfig;
  readonly log: Logger;
  readonly redis: RedisClient;
  readonly metrics: Metrics;
  readonly queues: QueueSet;
  readonly queueNames: readonly string[];
  readonly rejections: RejectionLog;
  readonly configured: readonly ChannelAccounts[];
  readonly loops: LoopRunner;
  readonly pump: JobPump | undefined;
  readonly deliveryState: DeliveryState;
  readonly triggers: TriggerParts | undefined;
  now(): number;
}

/** The ops port: probes, metrics, the admin API (with its listen hub) and the dashboard. */
export function buildOpsServer(deps: OpsServerDeps): { server: Server; listen: ListenHub } {
  const { config, log, redis, queues, queueNames, loops, pump, triggers, now } = deps;
  const listen = new ListenHub({ redis: config.redis, queueNames, now, log });
  const server = createServer(
    createOpsApp({
      token: config.admin.token,
      queues,
      queueNames,
      rejections: deps.rejections,
      destinations: () => destinationStatuses(config.destinations, deps.deliveryState, queues),
      channels: deps.configured,
      loops: () => loops.statuses,
      now,
      ...(triggers ? { triggers: { store: triggers.store, channel: triggers.channel } } : {}),
      log,
      listen,
      metrics: deps.metrics,
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
  return { server, listen };
}
