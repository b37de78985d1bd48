import type { ChannelEvent, LoopContext, LoopSpec } from '../../src/channel.js';
import { cursorPollLoop, readPosition } from '../../src/loops/cursor-poll.js';
import type { OutlookAccount } from './config.js';
import { GraphToken } from './credentials.js';
import { deltaStart, getPage, SyncStateLostError } from './graph.js';
import { normalizeOutlookItem } from './normalize.js';

/** The cursor: Graph's deltaLink verbatim, and when the round that reached it began (ms). */
export interface OutlookPosition {
  readonly deltaLink: string;
  readonly at: number;
}

/** receivedDateTime is Exchange's clock, `at` ours: a margin so no mail falls between them. */
const filterMarginMs = 5 * 60_000;

export const parsePosition = (value: string | undefined): OutlookPosition | undefined =>
  readPosition(value, outlookPosition);

function outlookPosition(p: Record<string, unknown>): OutlookPosition | undefined {
  return typeof p.deltaLink === 'string' && typeof p.at === 'number'
    ? { deltaLink: p.deltaLink, at: p.at }
    : undefined;
}

/**
 * The Outlook poll loop (Graph messages delta): the first round only establishes the position
 * (plus `backfillHours` of mail when asked); every `pollSeconds` after, the delta link is followed
 * to the next one, each page's items emitted, and only then is the new delta link stored.
 */
export function outlookPoll(account: OutlookAccount): LoopSpec {
  // Outlives restarts of `run`, so a cached token is reused after an error.
  const token = new GraphToken(account.credentials, account.graphUrl, account.account);
  return cursorPollLoop<OutlookPosition, GraphToken>({
    pollSeconds: account.pollSeconds,
    open: async () => token,
    position: outlookPosition,
    round: (ctx, graph, saved) => round(ctx, account, graph, saved),
  });
}

async function round(
  ctx: LoopContext,
  account: OutlookAccount,
  token: GraphToken,
  saved: OutlookPosition | undefined,
): Promise<OutlookPosition> {
  const startedAt = ctx.now();
  let deltaLink: string;
  if (!saved) {
    // Mail already in the folder is the starting point, not news; only a backfill emits it.
    const backfillMs = (account.backfillHours ?? 0) * 3_600_000;
    const since = new Date(startedAt - (backfillMs || filterMarginMs));
    deltaLink = await follow(ctx, account, token, deltaStart(account, since), backfillMs > 0);
    ctx.log.info({ backfillHours: account.backfillHours }, 'outlook: delta position established');
  } else {
    try {
      deltaLink = await follow(ctx, account, token, saved.deltaLink, true);
    } catch (err) {
      if (!(err instanceof SyncStateLostError)) throw err;
      // A new delta from just before the last good round: mail received since then comes back
      // (what was already queued is absorbed by dedupe); changes to older mail in the gap are not replayed.
      ctx.log.warn(
        { err: err.message },
        'outlook: delta link expired; restarting delta from the last poll time',
      );
      deltaLink = await follow(
        ctx,
        account,
        token,
        deltaStart(account, new Date(saved.at - filterMarginMs)),
        true,
      );
    }
  }
  return { deltaLink, at: startedAt };
}

/** Follows nextLinks to the deltaLink, emitting each page before asking for the next. */
async function follow(
  ctx: LoopContext,
  account: OutlookAccount,
  token: GraphToken,
  url: string,
  emit: boolean,
): Promise<string> {
  let link = url;
  for (;;) {
    const page = await getPage(link, token, account, ctx.signal);
    if (emit) {
      const events = (page.value ?? [])
        .map(normalizeOutlookItem)
        .filter((e): e is ChannelEvent => e !== undefined);
      if (events.length > 0) await ctx.emit(events);
    }
    const deltaLink = page['@odata.deltaLink'];
    if (deltaLink) return deltaLink;
    const nextLink = page['@odata.nextLink'];
    if (!nextLink)
      throw new Error(
        `[outlook] account "${account.account}": a delta page with neither nextLink nor deltaLink`,
      );
    link = nextLink;
  }
}
