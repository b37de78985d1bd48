import type { ChannelEvent, LoopContext, LoopSpec } from '../../src/channel.js';
import { cursorPollLoop, readPosition } from '../../src/loops/cursor-poll.js';
import type { GmailAccount } from './config.js';
import { type GmailAuth, gmailAuth, gmailError, statusOf } from './credentials.js';
import { Mailbox } from './mailbox.js';
import { isDraft, normalizeGmailMessage } from './normalize.js';

/** The cursor: where history continues, and when the round that reached it began (ms). */
export interface GmailPosition {
  readonly historyId: string;
  readonly at: number;
}

/** Gmail's internalDate and our clock disagree a little; dedupe absorbs the overlap. */
const listMarginMs = 5 * 60_000;
const getConcurrency = 8;

export const parsePosition = (value: string | undefined): GmailPosition | undefined =>
  readPosition(value, gmailPosition);

function gmailPosition(p: Record<string, unknown>): GmailPosition | undefined {
  return typeof p.historyId === 'string' && typeof p.at === 'number'
    ? { historyId: p.historyId, at: p.at }
    : undefined;
}

/**
 * The Gmail poll loop: the first run records the mailbox's history id (and emits `backfillHours`
 * of recent mail when asked); every `pollSeconds` after, the messages added since the cursor are
 * fetched and emitted, and only then does the cursor move.
 * https://developers.google.com/workspace/gmail/api/guides/sync
 */
export function gmailPoll(account: GmailAccount): LoopSpec {
  // Outlives restarts of `run`, so a cached access token is reused after an error.
  let auth: GmailAuth | undefined;
  return cursorPollLoop<GmailPosition, Mailbox>({
    pollSeconds: account.pollSeconds,
    async open(ctx) {
      auth ??= await gmailAuth(account.credentials, account.account, ctx.log);
      return Mailbox.open(account, auth, ctx.signal);
    },
    position: gmailPosition,
    round: (ctx, mailbox, saved) => round(ctx, mailbox, account, saved),
    failure: (err) => gmailError(err, account.account),
  });
}

async function round(
  ctx: LoopContext,
  mailbox: Mailbox,
  account: GmailAccount,
  saved: GmailPosition | undefined,
): Promise<GmailPosition> {
  const startedAt = ctx.now();
  let historyId: string;
  if (!saved) {
    historyId = await mailbox.historyId();
    if (account.backfillHours) {
      const since = Math.floor((startedAt - account.backfillHours * 3_600_000) / 1000);
      await emitMessages(ctx, mailbox, await mailbox.receivedSince(since));
    }
    ctx.log.info(
      { historyId, backfillHours: account.backfillHours },
      'gmail: starting from the current history id',
    );
  } else {
    try {
      historyId = saved.historyId;
      for await (const page of mailbox.added(saved.historyId)) {
        await emitMessages(ctx, mailbox, page.ids);
        historyId = page.historyId;
      }
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      // "If you receive an HTTP 404 error response, your application should perform a full sync":
      // a fresh history id first, then everything received since the last round, so mail that
      // arrived in between is covered by one or the other (both, at worst: dedupe).
      ctx.log.warn(
        { historyId: saved.historyId },
        'gmail: history id too old (404); listing mail since the last poll',
      );
      historyId = await mailbox.historyId();
      await emitMessages(
        ctx,
        mailbox,
        await mailbox.receivedSince(Math.floor((saved.at - listMarginMs) / 1000)),
      );
    }
  }
  return { historyId, at: startedAt };
}

/** Fetches the messages (a few at a time) and emits them; resolves once they are in Redis. */
async function emitMessages(ctx: LoopContext, mailbox: Mailbox, ids: readonly string[]): Promise<void> {
  const unique = [...new Set(ids)];
  const events: ChannelEvent[] = [];
  for (let i = 0; i < unique.length; i += getConcurrency) {
    const batch = await Promise.all(unique.slice(i, i + getConcurrency).map((id) => mailbox.get(id)));
    for (const message of batch)
      if (message && !isDraft(message)) events.push(normalizeGmailMessage(message));
  }
  if (events.length > 0) await ctx.emit(events);
}
