import express, { type Router } from 'express';
import { parseDuration } from '../config/size.js';
import type { AdminDeps } from './admin.js';
import { filterSchema } from './admin-events.js';
import { adminRoute, parseOr400 } from './admin-handle.js';

/** `/admin/destinations`, `/admin/rejections`, `/admin/channels`: what the relay delivers, refuses and serves. */
export function statusRoutes(deps: AdminDeps): Router {
  const router = express.Router();
  router.get(
    '/destinations',
    adminRoute(async (_req, res) => {
      res.json({ destinations: (await deps.destinations?.()) ?? [] });
    }),
  );
  router.get(
    '/rejections',
    adminRoute(async (req, res) => {
      const input = parseOr400(
        filterSchema.pick({ channel: true, since: true, limit: true }),
        req.query,
        res,
      );
      if (!input) return;
      const sinceMs = input.since === undefined ? undefined : parseDuration(input.since);
      res.json({
        rejections: await deps.rejections.list(
          { channel: input.channel, sinceMs, limit: input.limit },
          deps.now(),
        ),
      });
    }),
  );
  router.get('/channels', (_req, res) => {
    res.json({
      channels: deps.channels.flatMap(({ channel, accounts }) =>
        accounts.map((account) => {
          const id = channel.accountId(account);
          return {
            channel: channel.name,
            account: id,
            routes: channel.routes.map((r) => `${r.methods.join('|')} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
            queue: channel.queueOf(account) ?? null,
            loops: deps.loops().filter((l) => l.channel === channel.name && l.account === id),
          };
        }),
      ),
    });
  });
  return router;
}
