import { readFileSync } from 'node:fs';
import { channelList } from '../../channels/index.js';
import { configuredChannels, type RuntimeChannel, runtimeChannel } from '../accounts.js';
import type { AnyChannel } from '../channel.js';
import { type LoadedConfig, loadConfig } from '../config/load.js';
import { RelayError } from '../errors.js';
import { parseTriggerId } from '../triggers/record.js';
import { TriggerStore } from '../triggers/store.js';
import { openContext } from './context.js';
import { fail } from './output.js';

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface SignFlags {
  config?: string;
  data?: string;
  url?: string;
  /** The token of a run-time `token` trigger: Redis keeps only its digest. */
  token?: string;
}

/**
 * A run-time generic trigger, read from Redis as the relay reads it. Its HMAC or Standard Webhooks
 * key is there; a token is not (only its SHA-256), so the caller gives it with --token and the
 * channel checks it against the digest before signing.
 */
async function runtimeTrigger(id: string, flags: SignFlags, runtime: RuntimeChannel): Promise<unknown> {
  if (!parseTriggerId(id)) return undefined;
  const ctx = await openContext(flags.config);
  try {
    const store = new TriggerStore(ctx.redis, ctx.loaded.config.redis.prefix, runtime.runtime, new Set());
    const record = await store.get(id);
    if (!record) return undefined;
    const { account } = runtime.runtime.fromRecord(record, Date.now());
    return runtime.runtime.forSigning(account, flags.token);
  } finally {
    await ctx.close();
  }
}

/** The account to sign for: from the config, else (generic triggers) a run-time trigger in Redis. */
async function findAccount(
  loaded: LoadedConfig,
  channelName: string,
  accountId: string,
  flags: SignFlags,
): Promise<{ channel: AnyChannel; account: unknown }> {
  const entry = configuredChannels(loaded.config, channelList).find((c) => c.channel.name === channelName);
  if (!entry)
    throw new RelayError(
      'bad_flag',
      `unknown channel "${channelName}"; known: ${channelList.map((c) => c.name).join(', ')}`,
    );
  const { channel, accounts } = entry;
  const runtime = runtimeChannel([entry]);
  const account =
    accounts.find((a) => channel.accountId(a) === accountId) ??
    (runtime ? await runtimeTrigger(accountId, flags, runtime) : undefined);
  if (account !== undefined) return { channel, account };
  const known = accounts.map((a) => channel.accountId(a));
  throw new RelayError(
    'bad_flag',
    `no ${channelName} account "${accountId}" in the config${runtime ? ' nor among the run-time triggers' : ''}${known.length ? `; configured: ${known.join(', ')}` : ''}`,
  );
}

/** `relay sign CHANNEL:ACCOUNT` or `relay sign GROUP/TRIGGER`: a curl line that the relay would accept. */
export async function signCommand(target: string, flags: SignFlags): Promise<void> {
  try {
    const loaded = loadConfig(flags.config);
    const data = flags.data ?? '{}';
    const body = Buffer.from(data.startsWith('@') ? readFileSync(data.slice(1)) : data);
    const [channelName, accountId] = target.includes(':')
      ? (target.split(/:(.*)/s) as [string, string])
      : ['webhook', target];
    const { channel, account } = await findAccount(loaded, channelName, accountId, flags);
    if (!channel.sign) throw new RelayError('bad_flag', `channel ${channelName} cannot sign requests`);
    const base = (flags.url ?? `http://127.0.0.1:${loaded.config.server.port}`).replace(/\/$/, '');
    // Senders that sign the URL sign the one the relay checks: publicUrl, else the URL posted to.
    const signed = channel.sign(account, body, Date.now(), loaded.config.publicUrl ?? base);
    const parts = [`curl -i -X ${signed.method} ${shellQuote(base + signed.path)}`];
    for (const [name, value] of Object.entries(signed.headers))
      parts.push(`-H ${shellQuote(`${name}: ${value}`)}`);
    parts.push(`--data-binary ${shellQuote((signed.body ?? body).toString('utf8'))}`);
    process.stdout.write(`${parts.join(' \\\n  ')}\n`);
  } catch (err) {
    fail(err);
  }
}
