import type { Probe, ProbeResult } from '../../src/cli/online.js';
import { errorMessage } from '../../src/errors.js';
import { botApi } from './api.js';
import type { TelegramAccount } from './config.js';

const ok = (message: string): ProbeResult => ({ status: 'ok', message });
const problem = (message: string): ProbeResult => ({ status: 'problem', message });

/**
 * `getMe` with the bot token: the one call that proves the token is alive.
 * https://core.telegram.org/bots/api#getme. Errors come from api.ts with the token scrubbed, and
 * say "check botToken" for Telegram's 401/404 answers to a revoked or mistyped token.
 */
export const probeTelegram: Probe<TelegramAccount> = async (account, signal) => {
  try {
    const me = await botApi(account).getMe(signal);
    return ok(`bot ${me.username ? `@${me.username}` : 'without a username'} (id ${me.id})`);
  } catch (err) {
    return problem(errorMessage(err));
  }
};
