import type { Telegram, Types } from 'telegraf';
import type { WebhookInfo } from 'telegraf/types';
import { CredentialError, errorMessage, RetryLaterError } from '../../src/errors.js';
import { lazy } from '../../src/lazy.js';
import type { TelegramAccount } from './config.js';

/**
 * The few Bot API calls the relay makes, through telegraf's `Telegram` client. The bot token sits
 * in the URL path (`/bot<token>/<method>`), so every error leaving this file is rebuilt from
 * scratch, with the token and any `/bot…/` path removed, and no `cause` that could carry either.
 */
export interface BotApi {
  setWebhook(url: string, signal?: AbortSignal): Promise<void>;
  deleteWebhook(dropPendingUpdates: boolean, signal?: AbortSignal): Promise<void>;
  getWebhookInfo(signal?: AbortSignal): Promise<WebhookInfo>;
  getMe(signal?: AbortSignal): Promise<{ id: number; username?: string | undefined }>;
}

// Annotated because declaration emit cannot name the inferred type of telegraf's module.
export const telegraf: () => Promise<typeof import('telegraf')> = lazy(() => import('telegraf'));

/** telegraf's `Telegram` client for the account's bot; the package loads on the first one. */
export async function telegramClient(account: TelegramAccount): Promise<Telegram> {
  const { Telegram } = await telegraf();
  return new Telegram(account.botToken[0] ?? '', { apiRoot: account.apiRoot });
}

export const webhookPath = (account: TelegramAccount): string => `/telegram/${account.account}`;

export const webhookUrl = (publicUrl: string, account: TelegramAccount): string =>
  publicUrl.replace(/\/+$/, '') + webhookPath(account);

export function scrubToken(text: string, token: string): string {
  let out = token ? text.split(token).join('[redacted]') : text;
  out = out.replace(/\/(bot|user)[^/\s]*\//g, '/$1[redacted]/');
  return out;
}

/** A Bot API failure as the loop runner understands it: wait (429), re-consent (401/404), or retry. */
export async function botApiError(method: string, err: unknown, account: TelegramAccount): Promise<Error> {
  const { TelegramError } = await telegraf();
  const token = account.botToken[0] ?? '';
  if (err instanceof TelegramError) {
    const what = `Telegram ${method} for bot account "${account.account}" failed: ${scrubToken(`${err.code} ${err.description}`, token)}`;
    const retryAfterSec = err.parameters?.retry_after;
    if (err.code === 429) return new RetryLaterError(what, Math.max(1, retryAfterSec ?? 5) * 1000);
    // The Bot API answers 401 Unauthorized, or 404 Not Found, to a revoked or mistyped token.
    if (err.code === 401 || err.code === 404) return new CredentialError(`${what}; check botToken`);
    return new Error(what);
  }
  if (err instanceof Error && err.name === 'AbortError') return err;
  return new Error(
    `Telegram Bot API at ${account.apiRoot} unreachable (${method}): ${scrubToken(errorMessage(err), token)}`,
  );
}

// telegraf types `signal` with the abort-controller polyfill's class; Node's own AbortSignal is what node-fetch uses.
const callOptions = (signal: AbortSignal | undefined) => (signal ? { signal: signal as never } : {});

export function botApi(account: TelegramAccount): BotApi {
  const telegram = lazy(() => telegramClient(account));
  const call = async <T>(method: string, run: (client: Telegram) => Promise<T>): Promise<T> => {
    const client = await telegram();
    try {
      return await run(client);
    } catch (err) {
      throw await botApiError(method, err, account);
    }
  };
  const secretToken = account.secretToken?.[0];
  return {
    async setWebhook(url, signal) {
      const payload = {
        url,
        ...(secretToken ? { secret_token: secretToken } : {}),
        // Telegram adds update types faster than telegraf's union lists them; the config checks the shape.
        ...(account.allowedUpdates ? { allowed_updates: account.allowedUpdates as Types.UpdateType[] } : {}),
      };
      await call('setWebhook', (client) => client.callApi('setWebhook', payload, callOptions(signal)));
    },
    async deleteWebhook(dropPendingUpdates, signal) {
      await call('deleteWebhook', (client) =>
        client.callApi('deleteWebhook', { drop_pending_updates: dropPendingUpdates }, callOptions(signal)),
      );
    },
    getWebhookInfo: (signal) =>
      call('getWebhookInfo', (client) => client.callApi('getWebhookInfo', {}, callOptions(signal))),
    getMe: (signal) => call('getMe', (client) => client.callApi('getMe', {}, callOptions(signal))),
  };
}

/**
 * What getWebhookInfo says that the operator must hear about: another URL registered (another
 * deployment, or someone by hand), or Telegram failing to deliver to ours. Errors older than
 * `sinceMs` (our own registration) belong to an earlier setup and are not drift.
 * https://core.telegram.org/bots/api#getwebhookinfo
 */
export function webhookDrift(info: WebhookInfo, expectedUrl: string, sinceMs = 0): string | undefined {
  if (info.url !== expectedUrl) {
    return `webhook drift: Telegram delivers to ${info.url === '' ? 'no URL (webhook deleted or polling)' : info.url}, expected ${expectedUrl}`;
  }
  if (
    info.last_error_message &&
    (info.last_error_date === undefined || info.last_error_date * 1000 >= sinceMs)
  ) {
    const at = info.last_error_date ? ` at ${new Date(info.last_error_date * 1000).toISOString()}` : '';
    return `webhook drift: Telegram reports a delivery error${at}: ${info.last_error_message} (${info.pending_update_count} updates pending)`;
  }
  return undefined;
}
