import type { DoctorContext, DoctorFinding } from '../../src/channel.js';
import { errorMessage } from '../../src/errors.js';
import { botApi, webhookDrift, webhookUrl } from './api.js';
import type { TelegramAccount } from './config.js';

const finding = (verdict: DoctorFinding['verdict'], check: string, message: string): DoctorFinding => ({
  verdict,
  check,
  message,
});

const timeoutMs = 10_000;

/**
 * Telegram: getWebhookInfo must show `{publicUrl}/telegram/{account}` and no recent delivery
 * error in webhook mode, and no webhook at all in polling mode (getUpdates fails while one is set).
 * https://core.telegram.org/bots/api#getwebhookinfo
 */
async function telegramRegistration(
  account: TelegramAccount,
  publicUrl: string | undefined,
): Promise<DoctorFinding> {
  const check = `telegram/${account.account} registration`;
  try {
    const info = await botApi(account).getWebhookInfo(AbortSignal.timeout(timeoutMs));
    if (account.mode === 'polling') {
      return info.url
        ? finding(
            'problem',
            check,
            `a webhook to ${info.url} is set, so getUpdates cannot poll: run relay telegram delete-webhook ${account.account}`,
          )
        : finding('ok', check, 'no webhook set (polling mode)');
    }
    if (!publicUrl)
      return finding(
        'warning',
        check,
        `Telegram delivers to ${info.url || '(no URL)'}; no publicUrl in the config to compare with: set publicUrl`,
      );
    const expected = webhookUrl(publicUrl, account);
    const drift = webhookDrift(info, expected);
    if (drift)
      return finding(
        'problem',
        check,
        `${drift}: run relay telegram set-webhook ${account.account} (the relay also re-registers at start)`,
      );
    return finding(
      'ok',
      check,
      `Telegram delivers to ${info.url}, ${info.pending_update_count} updates pending`,
    );
  } catch (err) {
    return finding('problem', check, errorMessage(err));
  }
}

/** `relay doctor`: is the webhook registered where this relay expects it. */
export async function doctorTelegram(account: TelegramAccount, ctx: DoctorContext): Promise<DoctorFinding[]> {
  return [await telegramRegistration(account, ctx.publicUrl)];
}

/** Where Telegram's proof travels (the secret token header), for the doctor's diagnoses. */
export const telegramProof = () => ({
  headers: ['X-Telegram-Bot-Api-Secret-Token'],
  secretField: 'secretToken',
});
