import type { Command } from 'commander';
import { fail } from '../../src/cli/output.js';
import { RelayError } from '../../src/errors.js';
import { botApi, webhookDrift, webhookUrl } from './api.js';
import type { TelegramAccount } from './config.js';

/** `relay telegram set-webhook|delete-webhook|webhook-info ACCOUNT`: what the registration loop does, by hand. */

const configOption = ['--config <file>', 'config file (default: $RELAY_CONFIG, then ./relay.yaml)'] as const;

interface Flags {
  readonly config?: string;
}

async function findAccount(
  id: string,
  flags: Flags,
): Promise<{ account: TelegramAccount; publicUrl: string | undefined }> {
  // Imported here: the config loader imports the channel registry, which imports this channel.
  const { loadConfig } = await import('../../src/config/load.js');
  const { config } = loadConfig(flags.config);
  // The config schema parsed this list with the telegram channel's own schema.
  const accounts = ((config.channels as Record<string, unknown[] | undefined>).telegram ??
    []) as TelegramAccount[];
  const account = accounts.find((a) => a.account === id);
  if (!account) {
    const known = accounts.map((a) => a.account);
    throw new RelayError(
      'bad_flag',
      `no telegram account "${id}" in the config${known.length ? `; configured: ${known.join(', ')}` : ''}`,
    );
  }
  return { account, publicUrl: config.publicUrl };
}

const say = (line: string) => process.stdout.write(`${line}\n`);

async function setWebhook(id: string, flags: Flags & { url?: string }): Promise<void> {
  const { account, publicUrl } = await findAccount(id, flags);
  const base = flags.url ?? publicUrl;
  if (!base)
    throw new RelayError(
      'bad_flag',
      'no publicUrl in the config: set it, or pass --url https://relay.example.com',
    );
  const url = webhookUrl(base, account);
  await botApi(account).setWebhook(url);
  const updates = account.allowedUpdates ? account.allowedUpdates.join(',') : 'unchanged';
  say(`telegram/${account.account}: webhook set to ${url} with secret_token (allowed_updates: ${updates})`);
}

async function deleteWebhook(id: string, flags: Flags & { dropPendingUpdates?: boolean }): Promise<void> {
  const { account } = await findAccount(id, flags);
  await botApi(account).deleteWebhook(flags.dropPendingUpdates === true);
  say(
    `telegram/${account.account}: webhook deleted${flags.dropPendingUpdates ? ', pending updates dropped' : ''}`,
  );
}

async function webhookInfo(id: string, flags: Flags): Promise<void> {
  const { account, publicUrl } = await findAccount(id, flags);
  const info = await botApi(account).getWebhookInfo();
  const expected = publicUrl ? webhookUrl(publicUrl, account) : undefined;
  const drift = expected ? webhookDrift(info, expected) : undefined;
  const error = info.last_error_message
    ? `; last error ${info.last_error_date ? new Date(info.last_error_date * 1000).toISOString() : ''} ${info.last_error_message}`
    : '';
  const verdict = drift ? `; ${drift}` : expected ? '; matches publicUrl' : '; no publicUrl to compare with';
  say(
    `telegram/${account.account}: url ${info.url || '(none)'}, ${info.pending_update_count} pending${error}${verdict}`,
  );
}

/** Every action fails through `fail`: one line on stderr, exit 1. */
const guarded =
  <A extends unknown[]>(action: (...args: A) => Promise<void>) =>
  async (...args: A): Promise<void> => {
    try {
      await action(...args);
    } catch (err) {
      fail(err);
    }
  };

export function registerTelegramCommands(program: Command): void {
  const telegram = program
    .command('telegram')
    .description('register, inspect or remove a Telegram bot webhook by hand');
  telegram
    .command('set-webhook <account>')
    .description('call setWebhook with {publicUrl}/telegram/{account}, the secret token and allowed_updates')
    .option(...configOption)
    .option('--url <base>', 'public base URL instead of the config publicUrl')
    .action(guarded(setWebhook));
  telegram
    .command('delete-webhook <account>')
    .description('call deleteWebhook (Telegram stops delivering)')
    .option(...configOption)
    .option('--drop-pending-updates', 'also drop the updates Telegram still holds')
    .action(guarded(deleteWebhook));
  telegram
    .command('webhook-info <account>')
    .description('call getWebhookInfo and compare it with publicUrl')
    .option(...configOption)
    .action(guarded(webhookInfo));
}
