import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { parseDuration } from '../config/size.js';
import { errorMessage, RelayError } from '../errors.js';
import {
  assertReplayableStates,
  type EventFilter,
  findEvent,
  jobStates,
  listEvents,
  parseRate,
  replayableStates,
  replayMany,
  replayPlan,
  replayRecord,
  skipLine,
} from '../queue/inspect.js';
import type { AdminDeps } from './admin.js';
import { adminRoute, parseOr400 } from './admin-handle.js';
import { audit } from './audit.js';
import { sendError } from './reply.js';

export const filterSchema = z.strictObject({
  state: z.union([z.enum(jobStates), z.array(z.enum(jobStates))]).optional(),
  channel: z.string().optional(),
  account: z.string().optional(),
  type: z.string().optional(),
  since: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

const replaySchema = filterSchema.extend({
  ids: z.array(z.string()).optional(),
  dryRun: z.boolean().optional(),
  rate: z
    .union([z.number(), z.string()])
    .optional()
    .describe('events per second, or "N/s", "N/m": replays in the background at that pace'),
});

export function toFilter(input: z.output<typeof filterSchema>, now: number): EventFilter {
  let sinceMs: number | undefined;
  if (input.since !== undefined) {
    const span = parseDuration(input.since);
    if (span === undefined)
      throw new RelayError(
        'bad_request',
        `since: "${input.since}" is not a duration such as 90s, 15m, 2h or 7d`,
      );
    sinceMs = now - span;
  }
  return {
    states: input.state === undefined ? undefined : Array.isArray(input.state) ? input.state : [input.state],
    channel: input.channel,
    account: input.account,
    type: input.type,
    sinceMs,
    limit: input.limit,
  };
}

/** `/admin/events[/{id}[/replay]]` and `/admin/replay`: find queued events and replay them. */
export function eventRoutes(deps: AdminDeps): Router {
  const router = express.Router();
  /** The event `:id` names, in every queue that holds it; undefined once a 404 was sent. */
  const findOr404 = async (req: Request, res: Response) => {
    const found = await findEvent(deps.queues, deps.queueNames, String(req.params.id));
    if (found.length > 0) return found;
    sendError(res, 404, `no event ${req.params.id} in ${deps.queueNames.join(', ')}`);
    return undefined;
  };
  router.get(
    '/events',
    adminRoute(async (req, res) => {
      const input = parseOr400(filterSchema, req.query, res);
      if (!input) return;
      res.json({ events: await listEvents(deps.queues, deps.queueNames, toFilter(input, deps.now())) });
    }),
  );
  router.get(
    '/events/:id',
    adminRoute(async (req, res) => {
      const found = await findOr404(req, res);
      if (found) res.json({ events: found });
    }),
  );
  router.post(
    '/events/:id/replay',
    adminRoute(async (req, res) => {
      const found = await findOr404(req, res);
      if (!found) return;
      const { replayable, skipped } = replayPlan(found);
      const [first] = skipped;
      if (replayable.length === 0 && first) return sendError(res, 409, skipLine(first));
      const replayed = [];
      for (const record of replayable) replayed.push(await replayRecord(deps.queues, record));
      audit(deps.log, res, 'event.replay', { replayed });
      res.json({ replayed, ...(skipped.length > 0 ? { skipped } : {}) });
    }),
  );
  router.post(
    '/replay',
    adminRoute(async (req, res) => {
      const input = parseOr400(replaySchema, req.body ?? {}, res);
      if (!input) return;
      const filter = toFilter(input, deps.now());
      assertReplayableStates(filter.states, 'state');
      const found = input.ids
        ? (await Promise.all(input.ids.map((id) => findEvent(deps.queues, deps.queueNames, id)))).flat()
        : await listEvents(deps.queues, deps.queueNames, {
            ...filter,
            states: filter.states ?? replayableStates,
            limit: input.limit ?? 10_000,
          });
      // The dry run and the real run count the same events: those a replay acts on.
      const { replayable: records, skipped } = replayPlan(found);
      const skippedPart = skipped.length > 0 ? { skipped } : {};
      const selection = input.ids ? { ids: input.ids } : { filter: { ...input, dryRun: undefined } };
      const ratePerSec = input.rate === undefined ? undefined : parseRate(input.rate);
      if (input.rate !== undefined && ratePerSec === undefined)
        return sendError(res, 400, `rate: "${input.rate}" is not a rate such as 10, "10/s" or "300/m"`);
      if (input.dryRun) {
        res.json({
          count: records.length,
          dryRun: true,
          sample: records.slice(0, 10).map((r) => r.id),
          ...(ratePerSec ? { estimatedSec: Math.ceil(records.length / ratePerSec) } : {}),
          ...skippedPart,
        });
        return;
      }
      if (ratePerSec) {
        // A throttled replay can take longer than a request should: it runs on, and says so.
        const estimatedSec = Math.ceil(records.length / ratePerSec);
        audit(deps.log, res, 'events.replay', { ...selection, count: records.length, ratePerSec });
        res
          .status(202)
          .json({ count: records.length, ratePerSec, estimatedSec, status: 'started', ...skippedPart });
        replayMany(deps.queues, records, { ratePerSec }).then(
          (done) => deps.log?.info({ count: done.length, ratePerSec }, 'throttled replay finished'),
          (err) => deps.log?.warn({ err: errorMessage(err) }, 'throttled replay stopped'),
        );
        return;
      }
      const replayed = await replayMany(deps.queues, records);
      audit(deps.log, res, 'events.replay', { ...selection, count: replayed.length });
      res.json({ count: replayed.length, replayed, ...skippedPart });
    }),
  );
  return router;
}
