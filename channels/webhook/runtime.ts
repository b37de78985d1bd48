import type { RuntimeAccounts } from '../../src/channel.js';
import { RelayError } from '../../src/errors.js';
import {
  digestOf,
  live,
  type TriggerListing,
  type TriggerRecord,
  triggerId,
  triggerPath,
} from '../../src/triggers/record.js';
import { presets } from '../../src/verify/presets/index.js';
import { holdsDigests, tokenDigests, verifyToken } from '../../src/verify/token.js';
import { isPresetAuth, type WebhookAccount, webhookAccount } from './config.js';

/**
 * The account the webhook channel verifies against, with the secrets valid at `now`, and when that
 * set next changes (an expiring rotation). Throws with the schema's messages when the record is invalid.
 */
function fromRecord(record: TriggerRecord, now: number): { account: WebhookAccount; validUntil: number } {
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

/** A trigger from the config file, described as the run-time ones are (src/triggers/record.ts `describeTrigger`). */
function describe(account: WebhookAccount): TriggerListing {
  const auth = account.auth;
  return {
    id: triggerId(account.group, account.trigger),
    source: 'config' as const,
    scheme: auth.scheme,
    path: triggerPath(account.group, account.trigger),
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

/**
 * A run-time token trigger keeps only SHA-256 digests of its tokens, which cannot sign a request:
 * the caller gives the token, checked against the digests first.
 */
function forSigning(account: WebhookAccount, token: string | undefined): WebhookAccount {
  const auth = account.auth;
  const id = triggerId(account.group, account.trigger);
  if (!('token' in auth) || !holdsDigests(auth.token)) return account;
  if (token === undefined)
    throw new RelayError(
      'bad_flag',
      `trigger ${id} keeps only a SHA-256 of its token, which cannot be turned back into the token; pass it with --token <token>`,
    );
  if (verifyToken(token, auth.token) !== 'ok')
    throw new RelayError('bad_flag', `--token is not a current token of trigger ${id}`);
  return { ...account, auth: { ...auth, token: [token] } };
}

/**
 * Generic triggers created at run time: the host keeps their records in Redis (src/triggers), this
 * channel turns each into the very account the config would give (parsed by the same schema), so
 * verification is the channel's.
 */
export const webhookRuntime: RuntimeAccounts<WebhookAccount> = { fromRecord, describe, forSigning };
