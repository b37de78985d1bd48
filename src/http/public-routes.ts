import type { AnyChannel } from '../channel.js';
import type { BoundRoute } from './ingress.js';

/**
 * The public port's router: provider routes only, matched without a framework (express's router and
 * req/res setup cost ~24 % of the CPU per request: docs/performance.md), as express matched them:
 * literal segments in any letter case, `:params` decoded with decodeURIComponent, one trailing
 * slash, the path and query read from the request target as parseurl reads them.
 */

/** One compiled provider route: literal segments (lower-cased) and `:params`. */
export interface PublicRoute {
  readonly bound: BoundRoute;
  readonly segments: ReadonlyArray<{ readonly literal: string } | { readonly param: string }>;
  readonly methods: ReadonlySet<string>;
  /** The `Allow` header of a 405. */
  readonly allow: string;
}

/** What a request target matched: a route and its params, no route (404), or a malformed target (400). */
export type RouteMatch =
  | {
      readonly route: PublicRoute;
      readonly params: Record<string, string>;
      readonly path: string;
      readonly query: string;
    }
  | 'not_found'
  | 'bad_request';

const simpleSegment = /^(?::[A-Za-z_][A-Za-z0-9_]*|[A-Za-z0-9._~-]+)$/;

function compile(path: string): PublicRoute['segments'] {
  const parts = path.split('/').slice(1);
  if (!path.startsWith('/') || !parts.every((p) => simpleSegment.test(p)))
    throw new Error(`route ${path}: only /literal/:param segments are supported`);
  return parts.map((p) => (p.startsWith(':') ? { param: p.slice(1) } : { literal: p.toLowerCase() }));
}

/** Every channel's routes, in registration order (the first match wins). Refuses a route without a verifier. */
export function compileRoutes(channels: readonly AnyChannel[]): PublicRoute[] {
  const routes: PublicRoute[] = [];
  for (const channel of channels) {
    for (const route of channel.routes) {
      if (typeof route.verify !== 'function') {
        throw new Error(
          `channel ${channel.name}: route ${route.path} has no verifier; refusing to register it`,
        );
      }
      routes.push({
        bound: { channel, route },
        segments: compile(route.path),
        methods: new Set(route.methods),
        allow: route.methods.join(', '),
      });
    }
  }
  return routes;
}

/** Parameters of a matching path; undefined: no match; null: a malformed escape (400). */
function match(route: PublicRoute, parts: readonly string[]): Record<string, string> | undefined | null {
  const { segments } = route;
  // express (path-to-regexp, strict: false) also takes one trailing slash.
  const n =
    parts.length === segments.length + 1 && parts[parts.length - 1] === '' ? segments.length : parts.length;
  if (n !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const seg = segments[i] as PublicRoute['segments'][number];
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

/** Characters for which parseurl (express's req.path) leaves its fast path; Node lets only `#` through. */
const unusualTarget = /[\s#\u00a0\ufeff]/;
/** Absolute-form (`GET http://host/path`, as sent to proxies): the path starts after the authority. */
const absoluteForm = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/**
 * The path of a request target as parseurl reads it: origin-form as is, up to `?`; otherwise as
 * url.parse does: no fragment, the path of an absolute-form target (`/` when it has none),
 * backslashes as slashes. The query is everything after the first `?`, as express's route handler
 * took it from `req.originalUrl`.
 */
function targetPath(url: string, q: number): string {
  if (url.startsWith('/') && !unusualTarget.test(url)) return q === -1 ? url : url.slice(0, q);
  const end = url.search(/[?#]/);
  let path = (end === -1 ? url : url.slice(0, end)).trim();
  const authority = absoluteForm.exec(path);
  if (authority) path = path.slice(authority[0].length) || '/';
  return path.replaceAll('\\', '/');
}

/** The route a request target names (whatever its method: the route answers 405 itself). */
export function findRoute(routes: readonly PublicRoute[], url: string): RouteMatch {
  const q = url.indexOf('?');
  const path = targetPath(url, q);
  if (!path.startsWith('/')) return 'not_found';
  const parts = path.split('/').slice(1);
  for (const route of routes) {
    const params = match(route, parts);
    if (params === undefined) continue;
    if (params === null) return 'bad_request';
    return { route, params, path, query: q === -1 ? '' : url.slice(q + 1) };
  }
  return 'not_found';
}
