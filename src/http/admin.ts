import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { RuntimeChannel } from '../accounts.js';
import type { AnyChannel } from '../channel.js';
import { parseDuration } from '../config/size.js';
import { errorMessage, RelayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { LoopStatus } from '../loops/runner.js';
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
import type { QueueSet } from '../queue/queues.js';
import type { RejectionLog } from '../rejections.js';
import type { TriggerStore } from '../triggers/store.js';
import { safeEqualAny } from '../verify/compare.js';
import { bearerToken } from '../verify/token.js';
import type { ListenHub } from './admin-listen.js';
import { createTriggersRouter } from './admin-triggers.js';
import { audit, setAdminActor } from './audit.js';
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

const filterSchema = z.strictObject({
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

function parseOr400<T>(schema: z.ZodType<T>, value: unknown, res: Response): T | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  sendError(
    res,
    400,
    result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
  );
  return undefined;
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

  const handle =
    (fn: (req: Request, res: Response) => Promise<void>) =>
    async (req: Request, res: Response): Promise<void> => {
      try {
        await fn(req, res);
      } catch (err) {
        if (err instanceof RelayError && err.code === 'bad_request') return sendError(res, 400, err.message);
        if (err instanceof RelayError && err.code === 'not_replayable')
          return sendError(res, 409, err.message);
        sendError(res, 503, `Redis unavailable: ${errorMessage(err)}`);
      }
    };

  router.get(
    '/events',
    handle(async (req, res) => {
      const input = parseOr400(filterSchema, req.query, res);
      if (!input) return;
      res.json({ events: await listEvents(deps.queues, deps.queueNames, toFilter(input, deps.now())) });
    }),
  );
  router.get(
    '/events/:id',
    handle(async (req, res) => {
      const found = await findEvent(deps.queues, deps.queueNames, String(req.params.id));
      if (found.length === 0)
        return sendError(res, 404, `no event ${req.params.id} in ${deps.queueNames.join(', ')}`);
      res.json({ events: found });
    }),
  );
  router.post(
    '/events/:id/replay',
    handle(async (req, res) => {
      const found = await findEvent(deps.queues, deps.queueNames, String(req.params.id));
      if (found.length === 0)
        return sendError(res, 404, `no event ${req.params.id} in ${deps.queueNames.join(', ')}`);
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
    handle(async (req, res) => {
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
  router.get(
    '/destinations',
    handle(async (_req, res) => {
      res.json({ destinations: (await deps.destinations?.()) ?? [] });
    }),
  );
  router.get(
    '/rejections',
    handle(async (req, res) => {
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
  if (deps.triggers) {
    router.use(createTriggersRouter(deps.triggers.store, deps.triggers.channel, deps.now, deps.log));
  }
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
  if (deps.listen) router.get('/listen', deps.listen.handle);
  router.use((_req, res) => sendError(res, 404, 'not found'));
  return router;
}
