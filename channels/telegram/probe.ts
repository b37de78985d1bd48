import { type ProbeResult, probeOk, probeProblem } from '../../src/channel.js';
import { errorMessage } from '../../src/errors.js';
import { botApi } from './api.js';
import type { TelegramAccount } from './config.js';

/**
 * `getMe` with the bot token: the one call that proves the token is alive.
 * https://core.telegram.org/bots/api#getme. Errors come from api.ts with the token scrubbed, and
 * say "check botToken" for Telegram's 401/404 answers to a revoked or mistyped token.
 */
export const probeTelegram = async (account: TelegramAccount, signal: AbortSignal): Promise<ProbeResult> => {
  try {
    const me = await botApi(account).getMe(signal);
    return probeOk(`bot ${me.username ? `@${me.username}` : 'without a username'} (id ${me.id})`);
  } catch (err) {
    return probeProblem(errorMessage(err));
  }
};
