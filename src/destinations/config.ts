import { z } from 'zod';
import { httpUrl, name } from '../config/fields.js';
import type { RelayConfig, RouteRule } from '../config/schema.js';
import {
  type IssueSink,
  requireStandardWebhookSecrets,
  resolveSecrets,
  secretFields,
  secretGiven,
} from '../config/secret.js';
import { parseRate } from '../queue/inspect.js';

type Match = RouteRule['match'];

/**
 * `routes:`'s match with a list allowed wherever one value is (the contract's
 * `match: { channel: [whatsapp, slack] }`): a list matches any of its values. Built from the routes'
 * own match schema, so a field added there (such as `senderevent`) is a destination's too. Its
 * output is the equivalent list of routes' matches, one per combination of the listed values.
 */
function listMatch(routeMatch: z.ZodPrefault<z.ZodObject>) {
  const shape = Object.fromEntries(
    Object.entries(routeMatch.unwrap().shape).map(([key, field]) => {
      const one = (field as z.ZodOptional<z.ZodType<string>>).unwrap();
      const either = z.union([one, z.array(one).min(1, 'must list at least one value')]).optional();
      return [key, field.description ? either.describe(field.description) : either];
    }),
  );
  return z
    .strictObject(shape)
    .prefault({})
    .transform((m): Match[] => {
      let out: Array<Record<string, string>> = [{}];
      for (const [key, value] of Object.entries(m as Record<string, string | string[] | undefined>)) {
        if (value === undefined) continue;
        const values = Array.isArray(value) ? value : [value];
        out = out.flatMap((partial) => values.map((v) => ({ ...partial, [key]: v })));
      }
      return out as Match[];
    });
}

/**
 * `destinations:` (contract section 2): HTTP endpoints that receive a copy of every matching event,
 * signed with Standard Webhooks.
 */
export function destinationsSchema(routeMatch: z.ZodPrefault<z.ZodObject>) {
  const destination = z
    .strictObject({
      name: name.describe('also the name of its BullMQ queue'),
      url: httpUrl.describe('receives POST with the CloudEvent; redirects are not followed'),
      ...secretFields('secret'),
      match: listMatch(routeMatch).describe(
        'optional; the fields of routes: match, each one value or a list of them. Absent: every event',
      ),
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
    .meta(secretGiven('secret'))
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
  const copies = config.destinations.flatMap((d) => d.match.map((match) => ({ match, queues: [d.name] })));
  return [...config.routes, ...copies];
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
