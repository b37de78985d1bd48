import type { InboundRequest, SignedRequest } from '../../src/channel.js';
import { header } from '../../src/request.js';
import { verifyToken } from '../../src/verify/token.js';
import { routeNotConfigured } from '../../src/verify/unconfigured.js';
import { enforceVerdict } from '../../src/verify/verdict.js';
import type { TelegramAccount } from './config.js';

/**
 * Telegram sends the `secret_token` given to setWebhook back in `X-Telegram-Bot-Api-Secret-Token`
 * on every webhook request; there is no signature over the body.
 * https://core.telegram.org/bots/api#setwebhook
 */
export const secretHeader = 'x-telegram-bot-api-secret-token';

export function verifyTelegram(req: InboundRequest, account: TelegramAccount): void {
  // Polling accounts have no webhook: nothing posted to their URL is Telegram's (fail closed).
  if (account.secretToken === undefined)
    throw routeNotConfigured('the webhook (polling mode)', 'secretToken');
  enforceVerdict(verifyToken(header(req, secretHeader), account.secretToken));
}

/** The headers Telegram would send; the first listed secret token is the one registered. */
export function signTelegram(account: TelegramAccount): SignedRequest {
  const token = account.secretToken?.[0];
  return {
    method: 'POST',
    path: `/telegram/${account.account}`,
    headers: { 'content-type': 'application/json', ...(token ? { [secretHeader]: token } : {}) },
  };
}
