import { errorMessage } from '../errors.js';
import type { RedisClient } from '../redis/connection.js';
import { type Finding, finding } from './finding.js';

/** What Redis says about itself; a field is undefined when Redis would not tell. */
export interface RedisFacts {
  readonly server: string;
  readonly version: string | undefined;
  readonly maxmemoryPolicy: string | undefined;
  readonly aof: boolean | undefined;
  /** Why CONFIG GET failed (managed Redis often disables or renames it), when it did. */
  readonly configRefused: string | undefined;
}

function infoField(info: string, field: string): string | undefined {
  const line = info.split(/\r?\n/).find((l) => l.startsWith(`${field}:`));
  return line?.slice(field.length + 1).trim();
}

async function configGet(redis: RedisClient, key: string): Promise<string | undefined> {
  const reply = (await redis.call('CONFIG', 'GET', key)) as unknown;
  return Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : undefined;
}

/**
 * CONFIG GET first; where a managed Redis refuses it, INFO (which such services keep) still has
 * `maxmemory_policy` (Redis 4+) and `aof_enabled`.
 */
export async function readRedisFacts(redis: RedisClient): Promise<RedisFacts> {
  const info = String(await redis.info());
  const server = infoField(info, 'valkey_version')
    ? 'Valkey'
    : infoField(info, 'dragonfly_version')
      ? 'Dragonfly'
      : 'Redis';
  const version =
    infoField(info, 'valkey_version') ??
    infoField(info, 'dragonfly_version') ??
    infoField(info, 'redis_version');
  let maxmemoryPolicy: string | undefined;
  let aof: boolean | undefined;
  let configRefused: string | undefined;
  try {
    maxmemoryPolicy = await configGet(redis, 'maxmemory-policy');
    const appendonly = await configGet(redis, 'appendonly');
    aof = appendonly === undefined ? undefined : appendonly === 'yes';
  } catch (err) {
    configRefused = errorMessage(err);
  }
  maxmemoryPolicy ??= infoField(info, 'maxmemory_policy');
  if (aof === undefined) {
    const enabled = infoField(info, 'aof_enabled');
    aof = enabled === undefined ? undefined : enabled === '1';
  }
  return { server, version, maxmemoryPolicy, aof, configRefused };
}

function versionBelow(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
}

/**
 * BullMQ refuses Redis below 5.0.0 and recommends 6.2.0; it needs `noeviction`, because an evicted
 * job key is a lost event (https://docs.bullmq.io/guide/going-to-production#max-memory-policy);
 * and the relay answers 2xx once an event is in Redis, so without the append-only file a Redis
 * restart loses what providers were told was safe.
 */
export function redisFindings(facts: RedisFacts): Finding[] {
  const out: Finding[] = [];
  const refused = facts.configRefused ? ` (CONFIG GET refused: ${facts.configRefused})` : '';
  if (facts.version === undefined) {
    out.push(finding('warning', 'redis version', `${facts.server} did not report its version in INFO`));
  } else if (facts.server === 'Redis' && versionBelow(facts.version, '5.0.0')) {
    out.push(
      finding(
        'problem',
        'redis version',
        `Redis ${facts.version} is too old for BullMQ: upgrade to 6.2 or later`,
      ),
    );
  } else if (facts.server === 'Redis' && versionBelow(facts.version, '6.2.0')) {
    out.push(finding('warning', 'redis version', `Redis ${facts.version}: BullMQ recommends 6.2 or later`));
  } else {
    out.push(finding('ok', 'redis version', `${facts.server} ${facts.version}`));
  }
  if (facts.maxmemoryPolicy === undefined) {
    out.push(
      finding(
        'skipped',
        'redis maxmemory-policy',
        `could not check${refused}: make sure your provider sets noeviction`,
      ),
    );
  } else if (facts.maxmemoryPolicy !== 'noeviction') {
    out.push(
      finding(
        'problem',
        'redis maxmemory-policy',
        `is ${facts.maxmemoryPolicy}: Redis may evict queued events under memory pressure; set maxmemory-policy noeviction (redis.conf, or your provider's parameter group)`,
      ),
    );
  } else {
    out.push(finding('ok', 'redis maxmemory-policy', 'noeviction'));
  }
  if (facts.aof === undefined) {
    out.push(
      finding(
        'skipped',
        'redis persistence',
        `could not check the append-only file${refused}: make sure your provider persists writes`,
      ),
    );
  } else if (!facts.aof) {
    out.push(
      finding(
        'warning',
        'redis persistence',
        'append-only file is off: a Redis restart can lose events the relay already acknowledged; set appendonly yes',
      ),
    );
  } else {
    out.push(finding('ok', 'redis persistence', 'append-only file on'));
  }
  return out;
}
