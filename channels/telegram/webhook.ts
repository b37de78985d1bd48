import type { LoopContext, LoopSpec } from '../../src/channel.js';
import { sleep } from '../../src/loops/sleep.js';
import { botApi, webhookDrift, webhookUrl } from './api.js';
import type { TelegramAccount } from './config.js';

export interface WebhookLoopOptions {
  /** How often getWebhookInfo is re-read after registration. */
  readonly checkEveryMs?: number;
}

const defaultCheckEveryMs = 10 * 60_000;

/**
 * Webhook registration: `setWebhook({publicUrl}/telegram/{account}, secret_token, allowed_updates)`
 * at start, then getWebhookInfo now and every `checkEveryMs`, reporting drift (another URL, or
 * Telegram's last delivery error) until the relay stops. A failed call throws: the loop runner
 * retries with backoff (Telegram's `retry_after` on 429), and the relay keeps serving meanwhile.
 * https://core.telegram.org/bots/api#setwebhook
 */
export function webhookLoop(account: TelegramAccount, options: WebhookLoopOptions = {}): LoopSpec {
  const checkEveryMs = options.checkEveryMs ?? defaultCheckEveryMs;
  return {
    name: 'webhook-registration',
    async run(ctx: LoopContext) {
      if (!ctx.publicUrl) {
        ctx.report(
          `publicUrl is needed to register the webhook of bot account "${account.account}": set publicUrl in relay.yaml, or run relay telegram set-webhook ${account.account} with --url`,
        );
        return;
      }
      try {
        await register(ctx, webhookUrl(ctx.publicUrl, account));
      } catch (err) {
        // Stopping aborts the call in flight: that is the end of the loop, not a failure.
        if (!ctx.signal.aborted) throw err;
      }
    },
  };

  async function register(ctx: LoopContext, url: string): Promise<void> {
    const api = botApi(account);
    const registeredAt = ctx.now();
    await api.setWebhook(url, ctx.signal);
    ctx.log.info(
      { url, allowedUpdates: account.allowedUpdates ?? 'unchanged' },
      'telegram webhook registered',
    );
    let lastDrift: string | undefined;
    while (!ctx.signal.aborted) {
      const info = await api.getWebhookInfo(ctx.signal);
      const drift = webhookDrift(info, url, registeredAt);
      if (drift && drift !== lastDrift) ctx.log.warn({ drift }, 'telegram webhook drift');
      if (!drift && lastDrift) ctx.log.info({ url }, 'telegram webhook drift resolved');
      lastDrift = drift;
      ctx.report(drift);
      ctx.ok();
      await sleep(checkEveryMs, ctx.signal);
    }
  }
}
