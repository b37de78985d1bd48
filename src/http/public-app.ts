import express, { type NextFunction, type Request, type Response } from 'express';
import type { AnyChannel } from '../channel.js';
import type { RelayConfig } from '../config/schema.js';
import { type BoundRoute, handleInbound, type IngressDeps } from './ingress.js';
import { failedAuthStatuses, type PublicRateLimits } from './rate-limit.js';
import { sendError, sendReply } from './reply.js';

/** The client's address (from X-Forwarded-For only when the peer is trusted), IPv4 without its IPv6 mapping. */
function clientAddress(req: Request): string {
  const ip = req.ip ?? req.socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/**
 * The public port: provider routes only. Every route comes from a channel and must have a
 * verifier; the host, not the channel, decides what happens to unverified requests (fail closed).
 */
export function createPublicApp(
  deps: IngressDeps,
  channels: readonly AnyChannel[],
  trustProxy: RelayConfig['server']['trustProxy'],
  limits?: PublicRateLimits,
): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', trustProxy);
  const lastRecorded = new Map<string, number>();

  for (const channel of channels) {
    for (const route of channel.routes) {
      if (typeof route.verify !== 'function') {
        throw new Error(
          `channel ${channel.name}: route ${route.path} has no verifier; refusing to register it`,
        );
      }
      const bound: BoundRoute = { channel, route };
      const allow = route.methods.join(', ');
      const accountOf = (req: Request) => {
        const params = req.params as Record<string, string>;
        return route.accountId ? route.accountId(params) : (params.account ?? '');
      };
      const limitKey = (req: Request) => limits?.key(clientAddress(req), route.path) ?? '';
      // 429 + Retry-After, counted, and logged as a rejection at most once a second per client and
      // route, so a flood cannot flood the rejection log.
      const limited = (req: Request, res: Response, retryAfterSec: number) => {
        deps.metrics.requests.inc({ channel: channel.name, outcome: 'rate_limited' });
        const key = limitKey(req);
        const now = Date.now();
        if ((lastRecorded.get(key) ?? 0) <= now - 1000) {
          if (lastRecorded.size > 10_000) lastRecorded.clear();
          lastRecorded.set(key, now);
          deps.rejections.record({
            reason: 'rate_limited',
            channel: channel.name,
            account: accountOf(req),
            method: req.method,
            path: req.path,
            headerNames: Object.keys(req.headers),
            body: undefined,
            ip: clientAddress(req),
            at: deps.now(),
            detail: { retryAfterSec },
          });
        }
        res.set({ 'retry-after': String(retryAfterSec), connection: 'close' });
        sendError(res, 429, 'too many requests');
      };
      const handlers: express.RequestHandler[] = [];
      if (limits?.enabled) {
        handlers.push((req, res, next) => {
          const blocked = limits.blockedFor(limitKey(req));
          if (blocked === undefined) next();
          else limited(req, res, blocked);
        });
        handlers.push(limits.general(route.path, limitKey, limited));
      }
      app.all(route.path, ...handlers, async (req: Request, res: Response) => {
        if (!(route.methods as readonly string[]).includes(req.method)) {
          deps.metrics.requests.inc({ channel: channel.name, outcome: 'method_not_allowed' });
          res.set('allow', allow);
          sendError(res, 405, 'method not allowed');
          return;
        }
        const q = req.originalUrl.indexOf('?');
        const reply = await handleInbound(deps, bound, req.params as Record<string, string>, {
          method: req.method,
          path: req.path,
          query: new URLSearchParams(q === -1 ? '' : req.originalUrl.slice(q + 1)),
          ip: clientAddress(req),
          stream: req,
        });
        if (limits?.enabled && failedAuthStatuses.has(reply.status))
          await limits.recordFailure(limitKey(req));
        // A refused body may still be arriving: do not keep reading it on this connection.
        if (reply.status === 413) res.set('connection', 'close');
        sendReply(res, reply);
      });
    }
  }

  app.use((_req: Request, res: Response) => sendError(res, 404, 'not found'));
  // express's own errors: a malformed URL or path parameter.
  app.use(
    (err: { status?: number; statusCode?: number }, _req: Request, res: Response, _next: NextFunction) => {
      const status = err.status ?? err.statusCode ?? 500;
      if (status >= 500) deps.log.error({ err }, 'bug: unexpected error on the public port');
      sendError(
        res,
        status >= 400 && status < 500 ? status : 500,
        status === 400 ? 'bad request' : 'internal error',
      );
    },
  );
  return app;
}
