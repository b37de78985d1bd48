import { z } from 'zod';
import { httpUrl, name } from '../config/fields.js';
import type { RelayConfig, RouteRule } from '../config/schema.js';
import {
  type IssueSink,
  requireStandardWebhookSecrets,
  resolveSecrets,
  secretFields,
} from '../config/secret.js';
import { parseRate } from '../queue/inspect.js';

/**
 * `destinations:` (contract section 2): HTTP endpoints that receive a copy of every matching event,
 * signed with Standard Webhooks. The schema takes `routes:`'s own match schema, so a field added to
 * routes' match (such as `senderevent`) is a destination's too.
 */
export function destinationsSchema<M extends z.ZodType<RouteRule['match'], unknown>>(match: M) {
  const destination = z
    .strictObject({
      name: name.describe('also the name of its BullMQ queue'),
      url: httpUrl.describe('receives POST with the CloudEvent; redirects are not followed'),
      ...secretFields('secret'),
      match: match.describe('optional; the same fields as routes: match. Absent: every event'),
      timeoutMs: z.number().int().positive().default(10_000),
      concurrency: z.number().int().min(1).max(1000).default(4).describe('deliveries in flight per replica'),
      rate: z
        .union([z.string(), z.number()])
        .optional()
        .describe('at most this many deliveries, all replicas together: 50/s, 300/m, or a number per second')
        .transform((v, ctx) => {
          if (v === undefined) return undefined;
          const perSec = parseRate(v);
          if (perSec === undefined)
            ctx.addIssue({ code: 'custom', message: 'must be a rate such as 50/s, 300/m or 10' });
          return perSec;
        }),
    })
    .transform((d, ctx) => {
      const resolved = resolveSecrets<typeof d, 'secret'>(d, ctx, ['secret']);
      requireStandardWebhookSecrets(resolved.secret, ctx, 'secret');
      return resolved;
    });
  return z.array(destination).default([]);
}

export type Destination = RelayConfig['destinations'][number];

/**
 * Each destination is a `routes:` rule that copies matching events to a queue of its own name, so
 * the producer and the journal pump feed it with the same routing as any route.
 */
export function routingRules(config: Pick<RelayConfig, 'routes' | 'destinations'>): RouteRule[] {
  return [...config.routes, ...config.destinations.map((d) => ({ match: d.match, queues: [d.name] }))];
}

/**
 * Names are unique, and no destination's queue is one that workers (or routes) already read: a
 * destination's workers would take events meant for them.
 */
export function checkDestinationNames(
  config: Pick<RelayConfig, 'routes' | 'destinations' | 'queue'>,
  accountQueues: readonly string[],
  ctx: IssueSink,
): void {
  const taken = new Map<string, string>([[config.queue.name, 'queue.name']]);
  for (const q of accountQueues) taken.set(q, "an account's queue");
  config.routes.forEach((r, i) => {
    for (const q of r.queues) taken.set(q, `routes.${i}.queues`);
  });
  const seen = new Set<string>();
  config.destinations.forEach((d, i) => {
    const path = ['destinations', i, 'name'];
    if (seen.has(d.name))
      ctx.addIssue({ code: 'custom', message: `"${d.name}" is configured twice`, path, input: d.name });
    const clash = taken.get(d.name);
    if (clash)
      ctx.addIssue({
        code: 'custom',
        message: `"${d.name}" is already a queue (${clash}); a destination needs a queue of its own, pick another name`,
        path,
        input: d.name,
      });
    seen.add(d.name);
  });
}

/** BullMQ's limiter for a rate in events per second: whole events per window. */
export function limiterFor(perSec: number | undefined): { max: number; duration: number } | undefined {
  if (perSec === undefined) return undefined;
  return perSec >= 1
    ? { max: Math.round(perSec), duration: 1000 }
    : { max: 1, duration: Math.round(1000 / perSec) };
}
