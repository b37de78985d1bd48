import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { name, queueName } from '../config/fields.js';
import { presetNames, presets } from '../verify/presets/index.js';
import { tokenDigest } from '../verify/token.js';

/**
 * A generic trigger created at run time: kept in Redis as JSON, turned into the very account object
 * the config would give by the channel that declares `runtimeAccounts` (channels/webhook/runtime.ts).
 */
export const schemes = ['standard-webhooks', 'hmac-sha256', 'token', 'none', ...presetNames] as [
  string,
  ...string[],
];
/** A generic scheme or a sender preset's name (`stripe`). */
export type Scheme = string;

export interface StoredSecret {
  /**
   * The secret itself, for HMAC and Standard Webhooks keys: the relay computes the signature with
   * it, so it cannot keep a one-way hash (docs/channels/webhook.md). Token records written before
   * tokens were hashed also hold one, until their next change or the next start.
   */
  readonly value?: string;
  /** `token` scheme: hex SHA-256 of the token (`tokenDigest`); the token itself is not kept. */
  readonly sha256?: string;
  readonly addedAt: string;
  /** Set when a rotation replaced it: accepted until then. */
  readonly expiresAt?: string;
}

export interface TriggerRecord {
  readonly group: string;
  readonly trigger: string;
  readonly scheme: Scheme;
  readonly header?: string;
  readonly prefix?: string;
  readonly encoding?: 'hex' | 'base64';
  readonly toleranceSec?: number;
  readonly queue?: string;
  readonly secrets: readonly StoredSecret[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** What PUT /admin/triggers/{group}/{trigger} and `relay triggers create` take. */
export const triggerInput = z.strictObject({
  scheme: z.enum(schemes).optional().describe('default standard-webhooks'),
  secret: z
    .string()
    .min(16, 'must be at least 16 characters (leave it out and the relay generates a strong one)')
    .optional(),
  header: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, 'must be a header name')
    .optional(),
  prefix: z.string().max(64).optional(),
  encoding: z.enum(['hex', 'base64']).optional(),
  toleranceSec: z.number().int().positive().optional(),
  queue: queueName.optional(),
});
export type TriggerInput = z.output<typeof triggerInput>;

export const triggerId = (group: string, trigger: string) => `${group}/${trigger}`;
/** Where senders post to a trigger, under the public URL. */
export const triggerPath = (group: string, trigger: string) => `/webhook/${group}/${trigger}`;

/** `GROUP/TRIGGER` → its parts, each a valid name; undefined otherwise. */
export function parseTriggerId(id: string): { group: string; trigger: string } | undefined {
  const [group, trigger, ...rest] = id.split('/');
  if (rest.length > 0 || !name.safeParse(group).success || !name.safeParse(trigger).success) return undefined;
  return { group: group as string, trigger: trigger as string };
}

/**
 * A strong secret: 32 random bytes. Standard Webhooks keys are `whsec_` + base64
 * (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md#signature-scheme);
 * the others base64url, safe in a header.
 */
export function generateSecret(scheme: Scheme): string | undefined {
  // A sender preset's secret (or public key) comes from the sender: `--secret` gives it.
  if (scheme === 'none' || presets.has(scheme)) return undefined;
  const bytes = randomBytes(32);
  return scheme === 'standard-webhooks' ? `whsec_${bytes.toString('base64')}` : bytes.toString('base64url');
}

export const live = (record: TriggerRecord, now: number) =>
  record.secrets.filter((s) => s.expiresAt === undefined || Date.parse(s.expiresAt) > now);

/** A token's digest, whether it was stored hashed or (written before hashing) in clear. */
export const digestOf = (s: StoredSecret): string => s.sha256 ?? tokenDigest(s.value ?? '');

/** The record as Redis keeps it: `token` secrets as digests only, never the token. */
export function hashTokens(record: TriggerRecord): TriggerRecord {
  if (record.scheme !== 'token' || record.secrets.every((s) => s.value === undefined)) return record;
  return {
    ...record,
    secrets: record.secrets.map((s) => {
      const { value: _clear, ...kept } = s;
      return { ...kept, sha256: digestOf(s) };
    }),
  };
}

/** A trigger as the admin API and `relay triggers list` show it, from Redis or from the config: never a secret. */
export interface TriggerListing {
  readonly id: string;
  readonly source: 'runtime' | 'config';
  readonly scheme: Scheme;
  readonly path: string;
  readonly header?: string;
  readonly prefix?: string;
  readonly encoding?: string;
  readonly toleranceSec?: number;
  readonly queue: string | null;
  readonly secrets: readonly { readonly addedAt?: string; readonly expiresAt?: string | null }[];
  readonly createdAt?: string;
  readonly updatedAt?: string;
}

/** A record as the admin API and `relay triggers list` show it: never a secret value. */
export function describeTrigger(record: TriggerRecord, now: number): TriggerListing {
  return {
    id: triggerId(record.group, record.trigger),
    source: 'runtime' as const,
    scheme: record.scheme,
    path: triggerPath(record.group, record.trigger),
    ...(record.scheme === 'hmac-sha256'
      ? {
          header: record.header ?? 'X-Signature-256',
          prefix: record.prefix ?? '',
          encoding: record.encoding ?? 'hex',
        }
      : {}),
    ...(record.toleranceSec !== undefined ? { toleranceSec: record.toleranceSec } : {}),
    queue: record.queue ?? null,
    secrets: live(record, now).map((s) => ({ addedAt: s.addedAt, expiresAt: s.expiresAt ?? null })),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}
