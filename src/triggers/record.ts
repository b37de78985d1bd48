import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { isPresetAuth, type WebhookAccount, webhookAccount } from '../../channels/webhook/config.js';
import { name, queueName } from '../config/fields.js';
import { presetNames, presets } from '../verify/presets/index.js';
import { tokenDigest, tokenDigests } from '../verify/token.js';

/**
 * A generic trigger created at run time: kept in Redis as JSON, turned into the very account object
 * the config would give (parsed by the webhook channel's own schema), so verification is the channel's.
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

const live = (record: TriggerRecord, now: number) =>
  record.secrets.filter((s) => s.expiresAt === undefined || Date.parse(s.expiresAt) > now);

/**
 * The account the webhook channel verifies against, with the secrets valid at `now`, and when that
 * set next changes (an expiring rotation). Throws with the schema's messages when the record is invalid.
 */
export function toAccount(
  record: TriggerRecord,
  now: number,
): { account: WebhookAccount; validUntil: number } {
  const secrets = live(record, now);
  // Tokens as digests (verifyToken hashes what a request presents); other secrets as they are.
  const values = secrets.map((s) => (record.scheme === 'token' ? digestOf(s) : (s.value ?? '')));
  const auth: Record<string, unknown> = { scheme: record.scheme };
  if (record.scheme === 'token') auth.token = values;
  if (record.scheme === 'token' && record.header !== undefined) auth.header = record.header;
  const preset = presets.get(record.scheme);
  if (preset && values.length === 0)
    throw new Error(
      `scheme ${preset.name} verifies with the ${preset.needs === 'secrets' ? 'secret' : 'public key'} the sender gives you: pass it as secret (relay triggers create --secret)`,
    );
  if (preset) auth[preset.needs] = values;
  if (record.scheme === 'hmac-sha256' || record.scheme === 'standard-webhooks') auth.secrets = values;
  if (record.scheme === 'hmac-sha256') {
    if (record.header !== undefined) auth.header = record.header;
    if (record.prefix !== undefined) auth.prefix = record.prefix;
    if (record.encoding !== undefined) auth.encoding = record.encoding;
  }
  if (record.scheme === 'standard-webhooks' && record.toleranceSec !== undefined)
    auth.toleranceSec = record.toleranceSec;
  const result = webhookAccount.safeParse({
    group: record.group,
    trigger: record.trigger,
    auth,
    ...(record.queue ? { queue: record.queue } : {}),
  });
  if (!result.success) {
    // Messages and paths only: an issue's input could hold a secret.
    throw new Error(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  const expiries = secrets.flatMap((s) => (s.expiresAt ? [Date.parse(s.expiresAt)] : []));
  const parsed = result.data.auth;
  const account =
    'token' in parsed
      ? { ...result.data, auth: { ...parsed, token: tokenDigests(parsed.token) } }
      : result.data;
  return { account, validUntil: Math.min(Number.POSITIVE_INFINITY, ...expiries) };
}

/** A token's digest, whether it was stored hashed or (written before hashing) in clear. */
const digestOf = (s: StoredSecret): string => s.sha256 ?? tokenDigest(s.value ?? '');

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

/** A record as the admin API and `relay triggers list` show it: never a secret value. */
export function describeTrigger(record: TriggerRecord, now: number) {
  return {
    id: triggerId(record.group, record.trigger),
    source: 'runtime' as const,
    scheme: record.scheme,
    path: `/webhook/${record.group}/${record.trigger}`,
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

/** A trigger from the config file, described the same way. */
export function describeConfigured(account: WebhookAccount) {
  const auth = account.auth;
  return {
    id: triggerId(account.group, account.trigger),
    source: 'config' as const,
    scheme: auth.scheme,
    path: `/webhook/${account.group}/${account.trigger}`,
    ...(!isPresetAuth(auth) && auth.scheme === 'hmac-sha256'
      ? { header: auth.header, prefix: auth.prefix, encoding: auth.encoding }
      : {}),
    ...(!isPresetAuth(auth) && auth.scheme === 'standard-webhooks'
      ? { toleranceSec: auth.toleranceSec }
      : {}),
    queue: account.queue ?? null,
    secrets: isPresetAuth(auth)
      ? [...auth.creds.secrets, ...auth.creds.publicKeys].map(() => ({}))
      : auth.scheme === 'token'
        ? auth.token.map(() => ({}))
        : auth.scheme === 'none'
          ? []
          : auth.secrets.map(() => ({})),
  };
}
