import { createHmac } from 'node:crypto';
import type { Queue } from 'bullmq';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { lazy } from '../lazy.js';
import type { QueueSet } from '../queue/queues.js';
import { safeEqualAny } from '../verify/compare.js';
import { bearerToken } from '../verify/token.js';
import { sendError } from './reply.js';

export interface DashboardDeps {
  readonly token: readonly string[] | undefined;
  readonly queues: QueueSet;
  readonly queueNames: readonly string[];
}

export const dashboardPath = '/admin/queues';
const cookieName = 'relay_dashboard';
const sessionHours = 12;

/**
 * The cookie holds HMAC(admin token, label), never the token itself: a leaked cookie opens the
 * dashboard for its lifetime but is no bearer token for `/admin/*`, which accepts only the header.
 */
const sessionValue = (token: string) =>
  createHmac('sha256', token).update('relay-dashboard-session-v1').digest('base64url');

function cookieOf(req: Request): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === cookieName) return rest.join('=');
  }
  return undefined;
}

/**
 * Who may see the dashboard: `Authorization: Bearer <admin.token>` (scripts), or a browser that
 * opened `/admin/queues?token=<admin.token>` once. That request gets an HttpOnly, SameSite=Strict
 * cookie scoped to the dashboard and a redirect to the same URL without the token, so the token
 * leaves the address bar at once and SameSite keeps other sites from riding the session.
 */
function dashboardAuth(tokens: readonly string[]) {
  const sessions = tokens.map(sessionValue);
  return (req: Request, res: Response, next: NextFunction): void => {
    res.set('cache-control', 'no-store');
    res.set('referrer-policy', 'no-referrer');
    const query = req.query.token;
    if (typeof query === 'string') {
      if (!safeEqualAny(query, tokens)) {
        sendError(res, 401, 'wrong admin token');
        return;
      }
      const secure = req.protocol === 'https' ? '; Secure' : '';
      res.set(
        'set-cookie',
        `${cookieName}=${sessionValue(query)}; Path=${dashboardPath}; HttpOnly; SameSite=Strict; Max-Age=${sessionHours * 3600}${secure}`,
      );
      const url = new URL(req.originalUrl, 'http://relay.invalid');
      url.searchParams.delete('token');
      res.redirect(303, url.pathname + url.search);
      return;
    }
    const bearer = bearerToken(req.headers.authorization);
    if (bearer !== undefined && safeEqualAny(bearer, tokens)) {
      next();
      return;
    }
    const cookie = cookieOf(req);
    if (cookie !== undefined && safeEqualAny(cookie, sessions)) {
      next();
      return;
    }
    sendError(
      res,
      401,
      `admin token required: open ${dashboardPath}?token=<admin.token> once, or send Authorization: Bearer <admin.token>`,
    );
  };
}

/**
 * Bull Board over every queue the relay writes to, read-only: replays go through
 * `relay events replay` / `POST /admin/replay`, which keep the contract (a completed event is
 * copied with `replayof`, the original untouched); Bull Board's retry, clean and delete would not.
 */
async function bullBoardRouter(deps: DashboardDeps): Promise<express.Router> {
  const [{ createBullBoard }, { BullMQAdapter }, { ExpressAdapter }] = await Promise.all([
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/express'),
  ]);
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(dashboardPath);
  createBullBoard({
    queues: deps.queueNames.map(
      // The relay's queues are typed by their event envelope; Bull Board takes any BullMQ queue.
      (name) => new BullMQAdapter(deps.queues.get(name) as unknown as Queue, { readOnlyMode: true }),
    ),
    // @bull-board/express 9.10.1 nests its own @bull-board/api 9.10.1 next to our 9.10.2: the same
    // adapter shape, declared twice (private members make TypeScript tell them apart).
    serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: { uiConfig: { boardTitle: 'Relay queues' } },
  });
  return serverAdapter.getRouter() as express.Router;
}

/** The admin token gate, then Bull Board, which is built on the first request that passes the gate. */
export function createDashboardRouter(deps: DashboardDeps): Router {
  const router = express.Router();
  const tokens = deps.token;
  if (!tokens || tokens.length === 0) {
    router.use((_req, res) => sendError(res, 404, 'not found'));
    return router;
  }
  const board = lazy(() => bullBoardRouter(deps));
  router.use(dashboardAuth(tokens));
  router.use(async (req: Request, res: Response, next: NextFunction) => (await board())(req, res, next));
  return router;
}

/** Mounts the dashboard at `/admin/queues`, before the admin API's own bearer-only gate. */
export function mountDashboard(app: express.Express, deps: DashboardDeps): void {
  app.use(dashboardPath, createDashboardRouter(deps));
}
