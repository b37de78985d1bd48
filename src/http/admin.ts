import express, { type Router } from 'express';
import type { RuntimeChannel } from '../accounts.js';
import type { AnyChannel } from '../channel.js';
import type { Logger } from '../log.js';
import type { LoopStatus } from '../loops/runner.js';
import type { QueueSet } from '../queue/queues.js';
import type { RejectionLog } from '../rejections.js';
import type { TriggerStore } from '../triggers/store.js';
import { safeEqualAny } from '../verify/compare.js';
import { bearerToken } from '../verify/token.js';
import { eventRoutes } from './admin-events.js';
import type { ListenHub } from './admin-listen.js';
import { statusRoutes } from './admin-status.js';
import { createTriggersRouter } from './admin-triggers.js';
import { setAdminActor } from './audit.js';
import { sendError } from './reply.js';

export interface AdminDeps {
  readonly token: readonly string[] | undefined;
  readonly queues: QueueSet;
  readonly queueNames: readonly string[];
  readonly rejections: RejectionLog;
  /** Each destination's last success, last error and backlog (src/destinations/state.ts). */
  destinations?(): Promise<unknown[]>;
  readonly channels: readonly { channel: AnyChannel; accounts: readonly unknown[] }[];
  loops(): readonly LoopStatus[];
  now(): number;
  /** Run-time generic triggers and the channel they belong to; absent: /admin/triggers answers 404. */
  readonly triggers?: { readonly store: TriggerStore; readonly channel: RuntimeChannel };
  /** Where a throttled bulk replay, which outlives its request, reports how it ended. */
  readonly log?: Logger;
  /** `GET /admin/listen` (Server-Sent Events); absent: 404. */
  readonly listen?: ListenHub;
}

/** `/admin/*` on the ops port: 404 with no token configured, 401 without the right bearer token. */
export function createAdminRouter(deps: AdminDeps): Router {
  const router = express.Router();
  router.use((req, res, next) => {
    if (!deps.token) return sendError(res, 404, 'not found');
    const provided = bearerToken(req.headers.authorization);
    if (!provided || !safeEqualAny(provided, deps.token)) {
      res.set('www-authenticate', 'Bearer realm="relay-admin"');
      return sendError(res, 401, 'admin token required: Authorization: Bearer <admin.token>');
    }
    setAdminActor(res, provided);
    next();
  });
  router.use(express.json({ limit: '100kb' }));

  router.use(eventRoutes(deps));
  router.use(statusRoutes(deps));
  if (deps.triggers) {
    router.use(createTriggersRouter(deps.triggers.store, deps.triggers.channel, deps.now, deps.log));
  }
  if (deps.listen) router.get('/listen', deps.listen.handle);
  router.use((_req, res) => sendError(res, 404, 'not found'));
  return router;
}
