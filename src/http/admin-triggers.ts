import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { RuntimeChannel } from '../accounts.js';
import { parseDuration } from '../config/size.js';
import type { Logger } from '../log.js';
import { describeTrigger, parseTriggerId, triggerId, triggerInput } from '../triggers/record.js';
import type { TriggerStore } from '../triggers/store.js';
import { adminRoute, parseOr400 } from './admin-handle.js';
import { audit } from './audit.js';
import { sendError } from './reply.js';

const rotateInput = z.strictObject({ grace: z.string().optional().describe('e.g. 24h; default 24h') });

/**
 * `/admin/triggers[/{group}/{trigger}[/rotate]]`: run-time generic triggers. A secret leaves the
 * relay only in the answer to the PUT or rotate that made it; GET never shows one.
 */
export function createTriggersRouter(
  store: TriggerStore,
  { channel, runtime, accounts }: RuntimeChannel,
  now: () => number,
  log?: Logger,
): Router {
  const router = express.Router();
  const handle = (fn: (req: Request, res: Response, id: string) => Promise<void>) =>
    adminRoute(async (req, res) => {
      const parts = parseTriggerId(`${req.params.group}/${req.params.trigger}`);
      if (!parts) return sendError(res, 400, 'group and trigger must each be 1-64 of A-Z a-z 0-9 _ -');
      await fn(req, res, triggerId(parts.group, parts.trigger));
    });
  const configuredById = new Map(accounts.map((a) => [channel.accountId(a), a]));

  router.get(
    '/triggers',
    adminRoute(async (_req, res) => {
      const stored = await store.list();
      res.json({
        triggers: [
          ...accounts.map((a) => runtime.describe(a)),
          ...stored.map((r) => describeTrigger(r, now())),
        ],
      });
    }),
  );

  router.get(
    '/triggers/:group/:trigger',
    handle(async (_req, res, id) => {
      const fromConfig = configuredById.get(id);
      if (fromConfig !== undefined) return void res.json(runtime.describe(fromConfig));
      const record = await store.get(id);
      if (!record) return sendError(res, 404, `no trigger ${id}`);
      res.json(describeTrigger(record, now()));
    }),
  );

  router.put(
    '/triggers/:group/:trigger',
    handle(async (req, res, id) => {
      const input = parseOr400(triggerInput, req.body ?? {}, res);
      if (!input) return;
      const [group, trigger] = id.split('/') as [string, string];
      const result = await store.put(group, trigger, input, {
        createOnly: req.headers['if-none-match'] === '*',
      });
      audit(log, res, result.created ? 'trigger.create' : 'trigger.update', {
        trigger: id,
        scheme: result.record.scheme,
        secretIssued: result.secret !== undefined,
      });
      res.status(result.created ? 201 : 200).json({
        ...describeTrigger(result.record, now()),
        ...(result.secret !== undefined ? { secret: result.secret } : {}),
      });
    }),
  );

  router.post(
    '/triggers/:group/:trigger/rotate',
    handle(async (req, res, id) => {
      const parsed = rotateInput.safeParse(req.body ?? {});
      const grace = parsed.success ? (parsed.data.grace ?? '24h') : undefined;
      const graceMs = grace === undefined ? undefined : grace === '0' ? 0 : parseDuration(grace);
      if (graceMs === undefined)
        return sendError(res, 400, 'grace: use a duration such as 0, 15m, 24h or 7d');
      const result = await store.rotate(id, graceMs);
      audit(log, res, 'trigger.rotate', { trigger: id, graceMs });
      res.json({ ...describeTrigger(result.record, now()), secret: result.secret });
    }),
  );

  router.delete(
    '/triggers/:group/:trigger',
    handle(async (_req, res, id) => {
      if (!(await store.delete(id))) return sendError(res, 404, `no run-time trigger ${id}`);
      audit(log, res, 'trigger.delete', { trigger: id });
      res.status(204).end();
    }),
  );
  return router;
}
