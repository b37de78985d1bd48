import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AnyChannel } from '../channel.js';
import type { RelayConfig } from '../config/schema.js';
import type { RejectedError } from '../errors.js';
import { type BoundRoute, handleInbound, type IngressDeps, type IngressReply } from './ingress.js';
import type { PublicRateLimits } from './rate-limit.js';
import { sendError, writeError, writeReply } from './reply.js';

type TrustFn = (addr: string, i: number) => boolean;
// The package express itself uses for req.ip, so the lean path answers to server.trustProxy exactly as express does.
const proxyaddr = createRequire(import.meta.url)('proxy-addr') as (
  req: IncomingMessage,
  trust: TrustFn,
) => string;

/** One compiled provider route: literal segments (lower-cased: express matches case-insensitively) and `:params`. */
interface LeanRoute {
  readonly bound: BoundRoute;
  readonly segments: ReadonlyArray<{ readonly literal: string } | { readonly param: string }>;
  readonly methods: ReadonlySet<string>;
  readonly allow: string;
}

const simpleSegment = /^(?::[A-Za-z_][A-Za-z0-9_]*|[A-Za-z0-9._~-]+)$/;

function compile(path: string): LeanRoute['segments'] {
  const parts = path.split('/').slice(1);
  if (!path.startsWith('/') || !parts.every((p) => simpleSegment.test(p)))
    throw new Error(`route ${path}: only /literal/:param segments are supported`);
  return parts.map((p) => (p.startsWith(':') ? { param: p.slice(1) } : { literal: p.toLowerCase() }));
}

/** Parameters of a matching path (decoded as express decodes them); undefined: no match; null: a malformed escape (400). */
function match(route: LeanRoute, parts: readonly string[]): Record<string, string> | undefined | null {
  const { segments } = route;
  // express (path-to-regexp, strict: false) also takes one trailing slash.
  const n =
    parts.length === segments.length + 1 && parts[parts.length - 1] === '' ? segments.length : parts.length;
  if (n !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const seg = segments[i] as LeanRoute['segments'][number];
    const part = parts[i] as string;
    if ('literal' in seg) {
      if (part.length !== seg.literal.length || part.toLowerCase() !== seg.literal) return undefined;
    } else {
      if (part === '') return undefined;
      try {
        params[seg.param] = part.includes('%') ? decodeURIComponent(part) : part;
      } catch {
        return null;
      }
    }
  }
  return params;
}

/** Characters for which parseurl (express's req.path) falls back to url.parse: leave those requests to express. */
const unusualUrl = /[\s#\u00a0\ufeff]/;

/**
 * The public port: provider routes only. Every route comes from a channel and must have a
 * verifier; the host, not the channel, decides what happens to unverified requests (fail closed).
 *
 * Provider routes are matched here and served without express (its router and req/res setup cost
 * ~24 % of the CPU per request: docs/performance.md); everything else (404s, odd request targets,
 * express's own errors) goes to the express app, which serves the same routes the same way.
 */
export function createPublicHandler(
  deps: IngressDeps,
  channels: readonly AnyChannel[],
  trustProxy: RelayConfig['server']['trustProxy'],
  limits?: PublicRateLimits,
): RequestListener {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', trustProxy);
  const trust = app.get('trust proxy fn') as TrustFn;
  const clientAddress = (req: IncomingMessage): string => {
    const ip = proxyaddr(req, trust) ?? req.socket.remoteAddress ?? '';
    return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  };
  const lastRecorded = new Map<string, number>();
  const routes: LeanRoute[] = [];

  /** One provider request, whichever way it came in. */
  const serve = async (
    route: LeanRoute,
    req: IncomingMessage,
    res: ServerResponse,
    params: Record<string, string>,
    path: string,
    query: string,
  ): Promise<void> => {
    const { channel } = route.bound;
    const ip = clientAddress(req);
    const method = req.method ?? '';
    if (!route.methods.has(method)) {
      deps.metrics.requests.inc({ channel: channel.name, outcome: 'method_not_allowed' });
      writeError(res, 405, 'method not allowed', { allow: route.allow });
      return;
    }
    // Decided only once the request failed: a request that verifies is never refused for its rate.
    const refused = async (err: RejectedError): Promise<IngressReply | undefined> => {
      if (!limits?.enabled) return undefined;
      const limitKey = limits.key(ip, route.bound.route.path);
      const retryAfterSec = await limits.afterRefusal(limitKey, err.status);
      if (retryAfterSec === undefined) return undefined;
      // 429 + Retry-After, counted, and logged as a rejection at most once a second per client and
      // route, so a flood cannot flood the rejection log.
      deps.metrics.requests.inc({ channel: channel.name, outcome: 'rate_limited' });
      const now = Date.now();
      if ((lastRecorded.get(limitKey) ?? 0) <= now - 1000) {
        if (lastRecorded.size > 10_000) lastRecorded.clear();
        lastRecorded.set(limitKey, now);
        const r = route.bound.route;
        deps.rejections.record({
          reason: 'rate_limited',
          channel: channel.name,
          account: r.accountId ? r.accountId(params) : (params.account ?? ''),
          method,
          path,
          headerNames: Object.keys(req.headers),
          body: undefined,
          ip,
          at: deps.now(),
          detail: { retryAfterSec, status: err.status },
        });
      }
      return {
        status: 429,
        body: { error: 'too many requests' },
        headers: { 'retry-after': String(retryAfterSec), connection: 'close' },
      };
    };
    const reply = await handleInbound(deps, route.bound, params, {
      method,
      path,
      query: new URLSearchParams(query),
      ip,
      stream: req,
      refused,
    });
    // A refused body may still be arriving: do not keep reading it on this connection.
    writeReply(res, reply, reply.status === 413 ? { connection: 'close' } : undefined);
  };
  const fail = (res: ServerResponse, err: unknown) => {
    deps.log.error({ err }, 'bug: unexpected error on the public port');
    if (!res.headersSent) writeError(res, 500, 'internal error');
    else res.destroy();
  };

  for (const channel of channels) {
    for (const route of channel.routes) {
      if (typeof route.verify !== 'function') {
        throw new Error(
          `channel ${channel.name}: route ${route.path} has no verifier; refusing to register it`,
        );
      }
      const lean: LeanRoute = {
        bound: { channel, route },
        segments: compile(route.path),
        methods: new Set(route.methods),
        allow: route.methods.join(', '),
      };
      routes.push(lean);
      app.all(route.path, (req: Request, res: Response) => {
        const q = req.originalUrl.indexOf('?');
        serve(
          lean,
          req,
          res,
          { ...req.params } as Record<string, string>,
          req.path,
          q === -1 ? '' : req.originalUrl.slice(q + 1),
        ).catch((err: unknown) => fail(res, err));
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

  return (req, res) => {
    const url = req.url ?? '';
    if (url.startsWith('/') && !unusualUrl.test(url)) {
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      const parts = path.split('/').slice(1);
      for (const route of routes) {
        const params = match(route, parts);
        if (params === undefined) continue;
        if (params === null) {
          writeError(res, 400, 'bad request');
          return;
        }
        serve(route, req, res, params, path, q === -1 ? '' : url.slice(q + 1)).catch((err: unknown) =>
          fail(res, err),
        );
        return;
      }
    }
    app(req, res);
  };
}
