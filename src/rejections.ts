import { createHash } from 'node:crypto';
import type { RejectReason } from './errors.js';
import type { RedisClient } from './redis/connection.js';

/**
 * The rejection log (contract section 5): why a request was refused, which header names it carried,
 * the body's size and SHA-256, the client address and the time. Never a header value, a secret, a
 * signature or the body. A Redis stream capped in length and kept for a day.
 */
export interface Rejection {
  readonly at: string;
  readonly reason: RejectReason;
  readonly channel: string;
  readonly account: string;
  readonly method: string;
  readonly path: string;
  readonly headers: readonly string[];
  readonly size: number;
  readonly sha256: string;
  readonly ip: string;
  readonly detail?: Readonly<Record<string, string | number>>;
}

export interface RejectionInput {
  readonly reason: RejectReason;
  readonly channel: string;
  readonly account: string;
  readonly method: string;
  readonly path: string;
  readonly headerNames: readonly string[];
  readonly body: Buffer | undefined;
  readonly ip: string;
  readonly at: number;
  readonly detail?: Readonly<Record<string, string | number>> | undefined;
}

const maxEntries = 10_000;
const keepMs = 24 * 3_600_000;

export const rejectionsKey = (prefix: string) => `${prefix}:relay:rejections`;

export class RejectionLog {
  #writes = 0;
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  /** Fire and forget: a rejection must never wait on, or fail because of, Redis. */
  record(input: RejectionInput): void {
    const key = rejectionsKey(this.prefix);
    const fields = [
      'at',
      new Date(input.at).toISOString(),
      'reason',
      input.reason,
      'channel',
      input.channel,
      'account',
      input.account,
      'method',
      input.method,
      'path',
      input.path.slice(0, 300),
      'headers',
      input.headerNames.join(','),
      'size',
      String(input.body?.length ?? 0),
      'sha256',
      input.body ? createHash('sha256').update(input.body).digest('hex') : '',
      'ip',
      input.ip,
      'detail',
      input.detail ? JSON.stringify(input.detail) : '',
    ];
    this.redis.xadd(key, 'MAXLEN', '~', String(maxEntries), '*', ...fields).catch(() => {});
    if (++this.#writes % 100 === 1) {
      // Stream ids come from Redis's clock, so trim by real time, never an injected one.
      this.redis.xtrim(key, 'MINID', '~', String(Date.now() - keepMs)).catch(() => {});
    }
  }

  /** Newest first, within the last `sinceMs` (at most a day). */
  async list(
    filter: { channel?: string | undefined; sinceMs?: number | undefined; limit?: number | undefined },
    now = Date.now(),
  ): Promise<Rejection[]> {
    const since = now - Math.min(filter.sinceMs ?? keepMs, keepMs);
    const limit = filter.limit ?? 100;
    const out: Rejection[] = [];
    let end = '+';
    while (out.length < limit) {
      const batch = (await this.redis.xrevrange(
        rejectionsKey(this.prefix),
        end,
        String(since),
        'COUNT',
        500,
      )) as Array<[string, string[]]>;
      if (batch.length === 0) break;
      for (const [, flat] of batch) {
        const r = fromFields(flat);
        if (!filter.channel || r.channel === filter.channel) out.push(r);
        if (out.length >= limit) break;
      }
      const lastId = batch[batch.length - 1]?.[0];
      if (!lastId || batch.length < 500) break;
      end = `(${lastId}`;
    }
    return out;
  }
}

function fromFields(flat: string[]): Rejection {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i] as string] = flat[i + 1] as string;
  return {
    at: f.at ?? '',
    reason: (f.reason ?? 'bad_signature') as RejectReason,
    channel: f.channel ?? '',
    account: f.account ?? '',
    method: f.method ?? '',
    path: f.path ?? '',
    headers: f.headers ? f.headers.split(',') : [],
    size: Number(f.size ?? 0),
    sha256: f.sha256 ?? '',
    ip: f.ip ?? '',
    ...(f.detail ? { detail: JSON.parse(f.detail) as Record<string, string | number> } : {}),
  };
}
