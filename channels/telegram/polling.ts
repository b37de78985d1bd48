import type { Telegram, TelegramError, Types } from 'telegraf';
import type { Update } from 'telegraf/types';
import type { LoopContext, LoopSpec } from '../../src/channel.js';
import { botApi, botApiError, scrubToken, telegraf, telegramClient } from './api.js';
import type { TelegramAccount } from './config.js';
import { normalizeTelegram } from './normalize.js';

export interface PollingOptions {
  /** getUpdates long-poll timeout; Telegram holds the request this long when nothing is pending. */
  readonly timeoutSec?: number;
  /** Updates per getUpdates (Telegram: 1-100). */
  readonly limit?: number;
}

const defaultTimeoutSec = 25;
/** How much longer than the long poll an answer may take before the request counts as hung. */
const graceMs = 15_000;

/**
 * `mode: polling`: deleteWebhook (a webhook still set makes getUpdates answer 409), then long-poll
 * getUpdates with `offset` = last emitted update_id + 1. The offset is what confirms updates to
 * Telegram ("An update is considered confirmed as soon as getUpdates is called with an offset
 * higher than its update_id"), so it is stored, and sent, only after emit resolved: a crash in
 * between gets the same updates again and dedupe (`update-<update_id>`, as on the webhook route)
 * absorbs them. https://core.telegram.org/bots/api#getupdates
 */
export function pollingLoop(account: TelegramAccount, options: PollingOptions = {}): LoopSpec {
  const timeoutSec = options.timeoutSec ?? defaultTimeoutSec;
  const limit = options.limit ?? 100;
  const token = account.botToken[0] ?? '';
  return {
    name: 'polling',
    async run(ctx: LoopContext) {
      try {
        await poll(ctx);
      } catch (err) {
        // Stopping aborts the long poll in flight: that is the end of the loop, not a failure.
        if (!ctx.signal.aborted) throw err;
      }
    },
  };

  async function poll(ctx: LoopContext): Promise<void> {
    // drop_pending_updates false: updates that waited while no one polled are still delivered.
    await botApi(account).deleteWebhook(false, ctx.signal);
    const client = await telegramClient(account);
    let last = parseCursor(await ctx.cursor.get(), ctx);
    ctx.log.info(
      { offset: last === undefined ? 'earliest unconfirmed' : last + 1 },
      'telegram polling: webhook deleted, long-polling getUpdates',
    );
    while (!ctx.signal.aborted) {
      const updates = await getUpdates(client, last === undefined ? undefined : last + 1, ctx.signal);
      const fresh = updates.filter((u) => last === undefined || u.update_id > last);
      if (fresh.length > 0) {
        await ctx.emit(fresh.map((u) => normalizeTelegram(u as unknown as Record<string, unknown>)));
        last = Math.max(...fresh.map((u) => u.update_id));
        await ctx.cursor.set(String(last));
        ctx.log.debug({ updates: fresh.length, lastUpdateId: last }, 'telegram updates queued');
      }
      ctx.ok();
    }
  }

  async function getUpdates(
    client: Telegram,
    offset: number | undefined,
    stop: AbortSignal,
  ): Promise<Update[]> {
    // A long poll that outlives its timeout by far is a dead connection, not a quiet bot.
    const hung = AbortSignal.timeout(timeoutSec * 1000 + graceMs);
    const signal = AbortSignal.any([stop, hung]);
    try {
      return await client.callApi(
        'getUpdates',
        {
          timeout: timeoutSec,
          limit,
          ...(offset === undefined ? {} : { offset }),
          // Telegram adds update types faster than telegraf's union lists them; the config checks the shape.
          ...(account.allowedUpdates
            ? { allowed_updates: account.allowedUpdates as Types.UpdateType[] }
            : {}),
        },
        // telegraf types `signal` with the abort-controller polyfill's class; node-fetch takes Node's own.
        { signal: signal as never },
      );
    } catch (err) {
      if (hung.aborted && !stop.aborted)
        throw new Error(
          `Telegram getUpdates for bot account "${account.account}" did not answer within ${timeoutSec}s + ${graceMs / 1000}s; retrying`,
        );
      const { TelegramError } = await telegraf();
      if (err instanceof TelegramError && err.code === 409) throw conflict(err);
      throw await botApiError('getUpdates', err, account);
    }
  }

  /**
   * 409 right after deleteWebhook: someone set a webhook again (another deployment in webhook
   * mode), or another process long-polls this bot ("terminated by other getUpdates request").
   * The runner retries with backoff, which deletes the webhook again.
   */
  function conflict(err: TelegramError): Error {
    return new Error(
      `Telegram getUpdates for bot account "${account.account}" answered 409 (${scrubToken(err.description, token)}): another deployment uses this bot with a webhook or its own polling; stop it, or this relay keeps deleting the webhook and retrying with backoff`,
    );
  }
}

function parseCursor(stored: string | undefined, ctx: LoopContext): number | undefined {
  if (stored === undefined) return undefined;
  const n = Number(stored);
  if (Number.isSafeInteger(n)) return n;
  ctx.log.warn(
    { stored },
    'telegram polling: stored offset is not a number; starting from the earliest unconfirmed update',
  );
  return undefined;
}
