import type { RelayConfig } from '../config/schema.js';

/**
 * A Redis URL fit for a log line or an error: the password (and only it) replaced by `***`, so
 * `redis://:s3cret@host:6379/0` reads `redis://:***@host:6379/0`. Every message that names the URL
 * goes through here; an unparseable URL loses its whole user-info part.
 */
export function maskRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** Where the relay connects, for messages: the masked URL, or the Sentinel or Cluster nodes. */
export function describeRedis(config: RelayConfig['redis']): string {
  const nodes = (list: readonly { host: string; port: number }[]) =>
    list.map((n) => `${n.host}:${n.port}`).join(',');
  if (config.cluster) return `cluster ${nodes(config.cluster)}`;
  if (config.sentinels) return `sentinels ${nodes(config.sentinels)} (master ${config.name ?? 'mymaster'})`;
  return maskRedisUrl(config.url);
}
