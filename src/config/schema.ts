import { z } from 'zod';
import { channelList, type channels as registry } from '../../channels/index.js';
import { configKeyOf } from '../channel.js';
import { checkDestinationNames, destinationsSchema } from '../destinations/config.js';
import { httpUrl, queueName } from './fields.js';
import { resolveSecrets, secretFields } from './secret.js';
import { parseSize } from './size.js';

const port = z.number().int().min(0).max(65535);
const hours = z.number().positive();

const server = z
  .strictObject({
    port: port.default(8080),
    opsPort: port.default(9090),
    host: z.string().optional().describe('public port bind address; default all interfaces'),
    opsHost: z.string().optional().describe('ops port bind address; default all interfaces'),
    bodyLimit: z
      .union([z.string(), z.number()])
      .default('1mb')
      .transform((v, ctx) => {
        const bytes = parseSize(v);
        if (bytes === undefined)
          ctx.addIssue({ code: 'custom', message: 'must be a size such as 1mb, 512kb or 65536' });
        return bytes ?? 0;
      }),
    trustProxy: z
      .union([z.boolean(), z.number().int().min(0), z.string(), z.array(z.string())])
      .default('loopback, uniquelocal')
      .describe("express's trust-proxy setting: whose X-Forwarded-* headers are believed"),
    shutdownTimeoutMs: z.number().int().positive().default(8000),
    maxInFlight: z
      .number()
      .int()
      .positive()
      .default(512)
      .describe(
        'requests being verified and queued at once (counted once the body has arrived); past it the public port answers 503 + Retry-After at once',
      ),
    headersTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(10_000)
      .describe('a client that has not sent all its headers by then is cut off (408)'),
    requestTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(20_000)
      .describe('a client that has not sent its whole request (headers and body) by then is cut off (408)'),
    rateLimit: z
      .strictObject({
        enabled: z.boolean().default(true),
        windowSec: z.number().int().positive().default(60),
        max: z
          .number()
          .int()
          .positive()
          .optional()
          .meta({ deprecated: true })
          .describe(
            'deprecated and ignored: a request that verifies is never refused for its rate; limit volume at the ingress',
          ),
        failedAuthMax: z
          .number()
          .int()
          .positive()
          .default(20)
          .describe(
            'requests per client address and route per window that fail authentication or name an unknown account; then that client gets 429 for its unverified requests until the window ends (verified ones still pass)',
          ),
      })
      .prefault({})
      .describe('public port only; counts are shared by every replica through Redis'),
  })
  .refine((s) => s.headersTimeoutMs <= s.requestTimeoutMs, {
    message: 'must not exceed server.requestTimeoutMs',
    path: ['headersTimeoutMs'],
  })
  .prefault({});

const redis = z
  .strictObject({
    url: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .default('redis://127.0.0.1:6379'),
    prefix: z
      .string()
      .regex(/^[^:\s]{1,64}$/, 'must be 1-64 characters without ":" or spaces')
      .default('relay'),
    sentinels: z
      .array(z.strictObject({ host: z.string(), port }))
      .min(1)
      .optional(),
    name: z.string().optional().describe('Sentinel master name'),
    minReplicas: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        'replicas that must hold a write before it is acknowledged (WAIT); default 1 with sentinels, else 0',
      ),
    replicaTimeoutMs: z.number().int().positive().default(500),
    cluster: z
      .array(z.strictObject({ host: z.string(), port }))
      .min(1)
      .optional(),
  })
  .prefault({})
  .superRefine((r, ctx) => {
    if (r.sentinels && !r.name)
      ctx.addIssue({ code: 'custom', message: 'sentinels need the master name', path: ['name'] });
    if (r.sentinels && r.cluster)
      ctx.addIssue({ code: 'custom', message: 'give sentinels or cluster, not both', path: ['cluster'] });
    if (r.cluster && !/^\{.+\}$/.test(r.prefix)) {
      ctx.addIssue({
        code: 'custom',
        message: 'on a Redis Cluster the prefix needs a hash tag, e.g. "{relay}"',
        path: ['prefix'],
      });
    }
  });

const queue = z
  .strictObject({
    name: queueName.default('relay-events'),
    attempts: z.number().int().min(1).default(5),
    backoffMs: z.number().int().min(0).default(1000),
    keepCompletedHours: hours.default(168),
    keepFailedHours: hours.default(336),
    keepCompletedCount: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        'at most this many completed jobs kept per queue, beside keepCompletedHours; absent: age only',
      ),
    keepFailedCount: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('at most this many failed jobs kept per queue, beside keepFailedHours; absent: age only'),
    dedupeHours: hours.default(24),
    journal: z
      .strictObject({
        enabled: z
          .boolean()
          .default(false)
          .describe(
            'acknowledge inbound requests once their events are in a Redis stream (one XADD); a pump in every replica turns them into jobs',
          ),
        maxBacklog: z
          .number()
          .int()
          .positive()
          .default(100_000)
          .describe('journal entries not yet jobs; past it inbound requests get 503 + Retry-After'),
        batch: z
          .number()
          .int()
          .min(1)
          .max(10_000)
          .default(500)
          .describe('entries the pump turns into jobs at once'),
        pump: z
          .enum(['thread', 'inline'])
          .default('thread')
          .describe(
            "where the pump makes the jobs: its own worker thread (another core can do BullMQ's work), or inline on the request thread (a one-core container)",
          ),
        claimIdleSec: z
          .number()
          .positive()
          .default(30)
          .describe("a stopped replica's unfinished entries are taken over after this long"),
      })
      .optional()
      .describe('the ingest journal (docs/architecture.md); absent: off. Loops always write jobs directly'),
  })
  .prefault({});

const minAdminTokenLength = 16;
const shortAdminToken = `must be at least ${minAdminTokenLength} characters (e.g. openssl rand -hex 32)`;
const adminTokenValue = z.string().min(minAdminTokenLength, shortAdminToken);

const admin = z
  .strictObject({
    ...secretFields('token'),
    // Stated here as well as checked below, so the JSON Schema says it too.
    token: z
      .union([adminTokenValue, z.array(adminTokenValue).min(1)])
      .describe('a secret, or a list of secrets during a rotation')
      .nullish(),
  })
  .transform((v, ctx) => {
    const resolved = resolveSecrets(v, ctx, [], ['token']);
    // tokenFile is read by resolveSecrets: its lines are checked here. No message repeats a value.
    if (resolved.token?.some((t) => t.length < minAdminTokenLength))
      ctx.addIssue({ code: 'custom', message: shortAdminToken, path: ['tokenFile'], input: undefined });
    return resolved;
  })
  .prefault({});

const route = z.strictObject({
  match: z
    .strictObject({
      channel: z.string().optional(),
      account: z.string().optional(),
      type: z.string().optional().describe('an event type, or a prefix ending in * such as slack.*'),
      trigger: z.string().optional().describe('generic triggers: group/trigger'),
      senderevent: z
        .string()
        .optional()
        .describe(
          "a sender preset's event name (push, invoice.paid), or a prefix ending in * such as invoice.*",
        ),
    })
    .prefault({}),
  queues: z.array(queueName).min(1),
});

type Registry = typeof registry;
/** `channels:` in relay.yaml: one optional list per channel, typed with that channel's accounts. */
type ChannelsShape = { [K in keyof Registry]: z.ZodOptional<Registry[K]['accounts']> };

const channelShape = Object.fromEntries(
  channelList.map((c) => [configKeyOf(c), c.accounts.optional()]),
) as unknown as ChannelsShape;

const channels = z.strictObject(channelShape).prefault({});

export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    publicUrl: httpUrl.optional().describe('base of every URL handed to a provider'),
    server,
    redis,
    queue,
    admin,
    channels,
    routes: z.array(route).default([]),
    destinations: destinationsSchema(route.shape.match),
  })
  .superRefine((config, ctx) => {
    for (const channel of channelList) {
      const accounts = (config.channels as Record<string, unknown[] | undefined>)[configKeyOf(channel)] ?? [];
      const seen = new Set<string>();
      accounts.forEach((account, i) => {
        const id = channel.accountId(account);
        if (seen.has(id)) {
          ctx.addIssue({
            code: 'custom',
            message: `"${id}" is configured twice`,
            path: ['channels', configKeyOf(channel), i],
          });
        }
        seen.add(id);
      });
    }
    const byKey = config.channels as Record<string, unknown[] | undefined>;
    const accountQueues = channelList.flatMap((c) =>
      (byKey[configKeyOf(c)] ?? []).map((a) => c.queueOf(a) ?? ''),
    );
    checkDestinationNames(config, accountQueues, ctx);
  });

export type RelayConfig = z.output<typeof configSchema>;
export type RouteRule = z.output<typeof route>;
