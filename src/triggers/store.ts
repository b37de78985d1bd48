import type { RuntimeAccounts } from '../channel.js';
import { RelayError } from '../errors.js';
import type { RedisClient } from '../redis/connection.js';
import {
  generateSecret,
  hashTokens,
  type StoredSecret,
  type TriggerInput,
  type TriggerRecord,
  triggerId,
} from './record.js';

export const triggersKey = (prefix: string) => `${prefix}:relay:triggers`;
/** Published with the trigger id after every change, so each replica drops its cached copy at once. */
export const triggersChannel = (prefix: string) => `${prefix}:relay:triggers:changed`;

const compareAndSet = `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0`;

export interface PutResult {
  readonly record: TriggerRecord;
  readonly created: boolean;
  /** The new secret, shown once: set when one was generated or given. */
  readonly secret?: string;
}

/**
 * Run-time generic triggers in Redis: one hash field per trigger. Used by the admin API and by
 * `relay triggers`, so both apply the same rules; triggers from the config file are read-only.
 */
export class TriggerStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    /** The channel's `runtimeAccounts`: a record is stored only if it makes a valid account. */
    private readonly runtime: RuntimeAccounts<unknown>,
    private readonly configured: ReadonlySet<string>,
    private readonly now: () => number = Date.now,
  ) {}

  #readOnly(id: string): void {
    if (this.configured.has(id))
      throw new RelayError(
        'read_only',
        `trigger ${id} is defined in the config file; change it there (run-time changes apply only to triggers created through the admin API or relay triggers)`,
      );
  }

  async list(): Promise<TriggerRecord[]> {
    const all = await this.redis.hgetall(triggersKey(this.prefix));
    return Object.values(all)
      .map((json) => JSON.parse(json) as TriggerRecord)
      .sort((a, b) => triggerId(a.group, a.trigger).localeCompare(triggerId(b.group, b.trigger)));
  }

  async get(id: string): Promise<TriggerRecord | undefined> {
    const json = await this.redis.hget(triggersKey(this.prefix), id);
    return json ? (JSON.parse(json) as TriggerRecord) : undefined;
  }

  /**
   * Creates or replaces a trigger. Without a secret: a new trigger, or a change of scheme, gets a
   * generated one; an update that keeps the scheme keeps its secrets. `createOnly` refuses an existing one.
   */
  async put(
    group: string,
    trigger: string,
    input: TriggerInput,
    options: { createOnly?: boolean } = {},
  ): Promise<PutResult> {
    const id = triggerId(group, trigger);
    this.#readOnly(id);
    const existing = await this.get(id);
    if (existing && options.createOnly)
      throw new RelayError(
        'exists',
        `trigger ${id} already exists; rotate its secret with relay triggers rotate ${id}, or delete it first`,
      );
    const at = new Date(this.now()).toISOString();
    const scheme = input.scheme ?? existing?.scheme ?? 'standard-webhooks';
    const secret = input.secret ?? (existing?.scheme === scheme ? undefined : generateSecret(scheme));
    const secrets: readonly StoredSecret[] =
      scheme === 'none'
        ? []
        : secret !== undefined
          ? [{ value: secret, addedAt: at }]
          : (existing?.secrets ?? []);
    const record: TriggerRecord = {
      group,
      trigger,
      scheme,
      ...(input.header !== undefined ? { header: input.header } : {}),
      ...(input.prefix !== undefined ? { prefix: input.prefix } : {}),
      ...(input.encoding !== undefined ? { encoding: input.encoding } : {}),
      ...(input.toleranceSec !== undefined ? { toleranceSec: input.toleranceSec } : {}),
      ...(input.queue !== undefined ? { queue: input.queue } : {}),
      secrets,
      createdAt: existing?.createdAt ?? at,
      updatedAt: at,
    };
    try {
      this.runtime.fromRecord(record, this.now());
    } catch (err) {
      throw new RelayError('bad_request', `trigger ${id}: ${(err as Error).message}`);
    }
    await this.#write(record, options.createOnly === true);
    return { record, created: !existing, ...(secret !== undefined ? { secret } : {}) };
  }

  /** A new secret; the current ones stay valid for `graceMs` (0: replaced at once). */
  async rotate(id: string, graceMs: number): Promise<PutResult & { secret: string }> {
    this.#readOnly(id);
    const existing = await this.get(id);
    if (!existing) throw new RelayError('not_found', `no run-time trigger ${id}`);
    const secret = generateSecret(existing.scheme);
    if (secret === undefined)
      throw new RelayError(
        'bad_request',
        existing.scheme === 'none'
          ? `trigger ${id} uses scheme none: it has no secret to rotate`
          : `trigger ${id} uses the ${existing.scheme} preset, whose secret comes from the sender: give the new one with PUT /admin/triggers/${id} {"secret": "…"}`,
      );
    const now = this.now();
    const at = new Date(now).toISOString();
    const until = new Date(now + graceMs).toISOString();
    const kept =
      graceMs <= 0
        ? []
        : existing.secrets
            .filter((s) => s.expiresAt === undefined || Date.parse(s.expiresAt) > now)
            .map((s) => ({ ...s, expiresAt: s.expiresAt && s.expiresAt < until ? s.expiresAt : until }));
    const record: TriggerRecord = {
      ...existing,
      secrets: [{ value: secret, addedAt: at }, ...kept],
      updatedAt: at,
    };
    await this.#write(record, false);
    return { record, created: false, secret };
  }

  async delete(id: string): Promise<boolean> {
    this.#readOnly(id);
    const removed = await this.redis.hdel(triggersKey(this.prefix), id);
    await this.#announce(id);
    return removed > 0;
  }

  /**
   * Rewrites token records still holding a token in clear (written before tokens were hashed) with
   * its digest. Compare-and-set per record, so a change made meanwhile by another replica wins.
   */
  async hashStoredTokens(): Promise<number> {
    const key = triggersKey(this.prefix);
    let rewritten = 0;
    for (const [id, json] of Object.entries(await this.redis.hgetall(key))) {
      let record: TriggerRecord;
      try {
        record = JSON.parse(json) as TriggerRecord;
      } catch {
        continue; // the relay skips it with a warning already
      }
      const hashed = hashTokens(record);
      if (hashed === record) continue;
      rewritten += Number(await this.redis.eval(compareAndSet, 1, key, id, json, JSON.stringify(hashed)));
      await this.#announce(id);
    }
    return rewritten;
  }

  async #write(record: TriggerRecord, createOnly: boolean): Promise<void> {
    const id = triggerId(record.group, record.trigger);
    const json = JSON.stringify(hashTokens(record));
    if (createOnly) {
      const set = await this.redis.hsetnx(triggersKey(this.prefix), id, json);
      if (set === 0) throw new RelayError('exists', `trigger ${id} already exists`);
    } else {
      await this.redis.hset(triggersKey(this.prefix), id, json);
    }
    await this.#announce(id);
  }

  #announce(id: string): Promise<unknown> {
    return this.redis.publish(triggersChannel(this.prefix), id);
  }
}
