import { providerFailure } from '../../src/provider/failure.js';
import type { OutlookAccount } from './config.js';
import { accessHint, type GraphToken } from './credentials.js';

const requestTimeoutMs = 30_000;
/** Without a Retry-After, Graph asks for backoff; this is its first step. */
const defaultRetryMs = 10_000;

/** A delta item: a message resource, or `{id, @removed}`. */
export type GraphItem = Record<string, unknown> & { readonly id?: string };

export interface DeltaPage {
  readonly value?: GraphItem[];
  readonly '@odata.nextLink'?: string;
  readonly '@odata.deltaLink'?: string;
}

/** The delta link (or its sync state) is gone: the round must start over from a fresh delta. */
export class SyncStateLostError extends Error {}

/**
 * The first request of a delta round. `since` narrows it to mail received from then on
 * (`$filter=receivedDateTime ge …`, the one filter messages delta supports), which the delta link
 * then keeps: the folder's older mail is never paged through.
 * https://learn.microsoft.com/graph/delta-query-messages
 */
export function deltaStart(account: OutlookAccount, since: Date): string {
  const path = `/users/${encodeURIComponent(account.user)}/mailFolders/${encodeURIComponent(account.folder)}/messages/delta`;
  const filter = `receivedDateTime ge ${since.toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
  return `${account.graphUrl}${path}?$filter=${encodeURIComponent(filter)}`;
}

/**
 * A nextLink or deltaLink as Graph wrote it, moved onto `graphUrl` when Graph named another host
 * (a proxy or test double in front of it): the version segment and what follows are kept.
 */
export function ontoGraphUrl(link: string, graphUrl: string): string {
  if (link.startsWith(`${graphUrl}/`)) return link;
  const url = new URL(link);
  const rest = url.pathname.replace(/^\/(v1\.0|beta)(?=\/)/, '');
  return `${graphUrl}${rest}${url.search}`;
}

interface GraphErrorBody {
  readonly error?: { readonly code?: string; readonly message?: string };
}

/** GET one delta page; Graph's answers mapped onto what the supervisor understands. */
export async function getPage(
  url: string,
  token: GraphToken,
  account: OutlookAccount,
  signal: AbortSignal,
): Promise<DeltaPage> {
  const where = `[outlook] account "${account.account}"`;
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(ontoGraphUrl(url, account.graphUrl), {
      headers: { authorization: `Bearer ${await token.get(signal)}`, prefer: 'odata.maxpagesize=50' },
      signal: AbortSignal.any([signal, AbortSignal.timeout(requestTimeoutMs)]),
    });
    const body = (await res.json().catch(() => ({}))) as DeltaPage & GraphErrorBody;
    if (res.ok) return body;
    const code = body.error?.code ?? '';
    const detail = `${res.status} ${code}: ${body.error?.message ?? ''}`;
    if (res.status === 410 || /^(syncStateNotFound|syncStateInvalid|resyncRequired)$/i.test(code))
      throw new SyncStateLostError(`${where}: delta sync state expired (${detail})`);
    // A token may have been revoked or rotated: one fresh token before giving up.
    if (res.status === 401 && token.renewable && attempt === 0) {
      token.forget();
      continue;
    }
    const throttled = res.status === 429 || res.status === 503 || res.status === 504;
    throw providerFailure(
      throttled
        ? `${where}: Graph throttled (${detail})`
        : res.status === 401
          ? `${where}: Graph refused the access token (${detail})`
          : res.status === 403
            ? `${where}: Graph denied access to ${account.user} (${detail}); ${accessHint(account.credentials)}`
            : `${where}: Graph answered ${detail}`,
      { status: res.status, headers: res.headers, refused: res.status === 403 },
      { defaultRetryMs },
    );
  }
}
