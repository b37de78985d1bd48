import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { AnyChannel } from '../channel.js';
import type { RelayConfig } from '../config/schema.js';
import type { RejectedError } from '../errors.js';
import { clientAddressOf } from './client-address.js';
import { handleInbound, type IngressDeps, type IngressReply } from './ingress.js';
import { compileRoutes, findRoute, type RouteMatch } from './public-routes.js';
import type { PublicRateLimits } from './rate-limit.js';
import { writeError, writeReply } from './reply.js';

/** One request the router matched to a provider route. */
type Routed = Exclude<RouteMatch, string>;

type Refusal = (
  routed: Routed,
  ip: string,
  req: IncomingMessage,
) => (err: RejectedError) => Promise<IngressReply | undefined>;

/**
 * Asked only once a request failed (a request that verifies is never refused for its rate): 429 +
 * Retry-After past `server.rateLimit.failedAuthMax`, counted, and logged as a rejection at most once
 * a second per client and route, so a flood cannot flood the rejection log.
 */
function refusalAfterFailures(deps: IngressDeps, limits: PublicRateLimits | undefined): Refusal {
  const lastRecorded = new Map<string, number>();
  return ({ route, params, path }, ip, req) =>
    async (err) => {
      if (!limits?.enabled) return undefined;
      const { channel, route: inbound } = route.bound;
      const limitKey = limits.key(ip, inbound.path);
      const retryAfterSec = await limits.afterRefusal(limitKey, err.status);
      if (retryAfterSec === undefined) return undefined;
      deps.metrics.requests.inc({ channel: channel.name, outcome: 'rate_limited' });
      const now = Date.now();
      if ((lastRecorded.get(limitKey) ?? 0) <= now - 1000) {
        if (lastRecorded.size > 10_000) lastRecorded.clear();
        lastRecorded.set(limitKey, now);
        deps.rejections.record({
          reason: 'rate_limited',
          channel: channel.name,
          account: inbound.accountId ? inbound.accountId(params) : (params.account ?? ''),
          method: req.method ?? '',
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
}

/** One provider request: 405 for a method the route does not take, else the ingress pipeline. */
async function serveRoute(
  deps: IngressDeps,
  refusal: Refusal,
  routed: Routed,
  ip: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { route } = routed;
  const method = req.method ?? '';
  if (!route.methods.has(method)) {
    deps.metrics.requests.inc({ channel: route.bound.channel.name, outcome: 'method_not_allowed' });
    writeError(res, 405, 'method not allowed', { allow: route.allow });
    return;
  }
  const reply = await handleInbound(deps, route.bound, routed.params, {
    method,
    path: routed.path,
    query: new URLSearchParams(routed.query),
    ip,
    stream: req,
    refused: refusal(routed, ip, req),
  });
  // A refused body may still be arriving: do not keep reading it on this connection.
  writeReply(res, reply, reply.status === 413 ? { connection: 'close' } : undefined);
}

/**
 * The public port: provider routes only, on one framework-free router (public-routes.ts) and one
 * reply writer (reply.ts). Every route comes from a channel and must have a verifier; the host, not
 * the channel, decides what happens to unverified requests (fail closed). No route: 404; a
 * malformed escape in a parameter: 400; a method the route does not take: 405 with `Allow`.
 */
export function createPublicHandler(
  deps: IngressDeps,
  channels: readonly AnyChannel[],
  trustProxy: RelayConfig['server']['trustProxy'],
  limits?: PublicRateLimits,
): RequestListener {
  const routes = compileRoutes(channels);
  const clientAddress = clientAddressOf(trustProxy);
  const refusal = refusalAfterFailures(deps, limits);
  const fail = (res: ServerResponse, err: unknown) => {
    deps.log.error({ err }, 'bug: unexpected error on the public port');
    if (!res.headersSent) writeError(res, 500, 'internal error');
    else res.destroy();
  };
  return (req, res) => {
    const found = findRoute(routes, req.url ?? '');
    if (found === 'not_found') return writeError(res, 404, 'not found');
    if (found === 'bad_request') return writeError(res, 400, 'bad request');
    serveRoute(deps, refusal, found, clientAddress(req), req, res).catch((err: unknown) => fail(res, err));
  };
}
