import { createHash } from 'node:crypto';
import type { InboundRequest, Reply, RouteContext } from '../../src/channel.js';
import { RejectedError, type RejectReason } from '../../src/errors.js';
import { parseJsonObject } from '../../src/request.js';
import { isObject } from '../../src/values.js';
import { safeEqualAny } from '../../src/verify/compare.js';
import { jwksKeySet, verifyJwt } from '../../src/verify/jwt.js';
import { keySetAt } from '../../src/verify/key-sets.js';
import { routeNotConfigured } from '../../src/verify/unconfigured.js';
import type { TeamsAccount } from './config.js';
import { decryptContent, isEncryptedContent } from './decrypt.js';

/**
 * Microsoft Graph change notifications carry no header signature: authenticity is the subscription's
 * `clientState` inside every `value[]` item ("Processing the change notification",
 * https://learn.microsoft.com/graph/change-notifications-delivery-webhooks), plus, for rich
 * notifications, the batch's `validationTokens` and each item's `dataSignature`
 * (https://learn.microsoft.com/graph/change-notifications-with-resource-data).
 */

/** "Microsoft Graph Change Tracking": the `appid` of every genuine validation token. */
export const graphChangeTrackingAppId = '0bf30f3b-4a52-48df-9a82-234910c4a086';

/** One authenticated item of a batch; `resource` is the decrypted resource of a rich notification. */
export interface GraphItem {
  readonly item: Record<string, unknown>;
  readonly resource?: unknown;
}

interface Dropped {
  readonly index: number;
  readonly reason: RejectReason;
  readonly why: string;
  readonly subscriptionId?: string;
}

/**
 * `?validationToken=` on POST or GET, answered before any parsing with the URL-decoded token as
 * `text/plain` (URLSearchParams decodes `+` as a space). An account without a clientState does not
 * take Graph notifications, so it does not validate subscriptions either: verify answers 401.
 */
export function graphHandshake(req: InboundRequest, account: TeamsAccount): Reply | undefined {
  const token = req.query.get('validationToken');
  if (token === null || account.clientState === undefined) return undefined;
  return { status: 200, contentType: 'text/plain', body: token };
}

/** What `verifyGraph` proved: the items it trusts, and the batch's exact text when a number was rounded. */
export interface GraphProof {
  readonly items: readonly GraphItem[];
  readonly raw: string | undefined;
}

export async function verifyGraph(
  req: InboundRequest,
  account: TeamsAccount,
  ctx: RouteContext,
): Promise<GraphProof> {
  if (account.clientState === undefined) {
    throw routeNotConfigured('Graph notifications', 'clientState');
  }
  if (req.method !== 'POST') throw new RejectedError('bad_body', { why: 'GET without validationToken' });
  // The proof is inside the body: until one item's clientState matched, the body is unauthenticated,
  // and so is a body that cannot be read (401, counted toward server.rateLimit.failedAuthMax).
  if (!mentionsClientState(req.body, account.clientState)) {
    throw new RejectedError('missing_signature', { why: 'no clientState of this account in the body' });
  }
  let batch: Record<string, unknown>;
  let raw: string | undefined;
  try {
    ({ value: batch, raw } = parseJsonObject(req));
  } catch (err) {
    const why = err instanceof RejectedError ? String(err.detail?.why ?? err.message) : 'unreadable body';
    throw new RejectedError('missing_signature', { why: `${why}: no clientState to check` }, { cause: err });
  }
  if (!Array.isArray(batch.value))
    throw new RejectedError('missing_signature', { why: 'no value array: no clientState to check' });

  const items: GraphItem[] = [];
  const dropped: Dropped[] = [];
  let tokens: Promise<string | undefined> | undefined;
  for (const [index, raw] of (batch.value as unknown[]).entries()) {
    const drop = (reason: RejectReason, why: string) => {
      const subscriptionId =
        isObject(raw) && typeof raw.subscriptionId === 'string' ? raw.subscriptionId : undefined;
      dropped.push({ index, reason, why, ...(subscriptionId ? { subscriptionId } : {}) });
    };
    if (!isObject(raw)) {
      drop('missing_signature', 'item is not an object: no clientState');
      continue;
    }
    const clientState = raw.clientState;
    if (typeof clientState !== 'string' || clientState === '') {
      drop('missing_signature', 'no clientState');
      continue;
    }
    if (!safeEqualAny(clientState, account.clientState)) {
      drop('bad_signature', 'clientState mismatch');
      continue;
    }
    if (raw.encryptedContent === undefined || account.decryptionKey === undefined) {
      items.push({ item: raw });
      continue;
    }
    if (!isEncryptedContent(raw.encryptedContent)) {
      drop('bad_body', 'encryptedContent lacks data, dataKey or dataSignature');
      continue;
    }
    // One check per batch: "Microsoft Graph generates a single token for each distinct app and tenant pair".
    tokens ??= validationTokensProblem(batch.validationTokens, account, ctx.now());
    const problem = await tokens;
    if (problem) {
      drop('bad_signature', problem);
      continue;
    }
    const result = decryptContent(raw.encryptedContent, account.decryptionKey);
    if (result.ok) items.push({ item: raw, resource: result.resource });
    else drop(result.reason, result.why);
  }

  if (items.length === 0) {
    const auth = dropped.filter((d) => d.reason !== 'bad_body');
    // No item to trust: 401 (nothing queued), or 400 when every item was unreadable rather than unsigned.
    const reason: RejectReason =
      dropped.length > 0 && auth.length === 0
        ? 'bad_body'
        : auth.length > 0 && auth.every((d) => d.reason === 'missing_signature')
          ? 'missing_signature'
          : 'bad_signature';
    throw new RejectedError(reason, { items: dropped.length, why: dropped[0]?.why ?? 'empty value array' });
  }
  for (const d of dropped) {
    ctx.reject(d.reason, {
      item: d.index,
      why: d.why,
      ...(d.subscriptionId ? { subscriptionId: d.subscriptionId } : {}),
    });
  }
  return { items, raw };
}

const clientStateKey = Buffer.from('"clientState"');
/** Graph caps clientState at 255 characters; escaped in JSON, a character takes at most six bytes. */
const graphMaxClientState = 255;
/** A genuine batch's first item carries the clientState; a body packed with decoys stops costing here. */
const maxClientStatesScanned = 1000;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Whether some `"clientState": "…"` in the raw bytes holds one of the account's values: a scan for
 * a fixed key (no parse), so a body without the proof costs about a memchr over its bytes instead of
 * a UTF-8 decode, a depth scan and a JSON.parse (measured: docs/reliability.md). Values are
 * compared as SHA-256 digests, so the timing says nothing about the secret. A match only lets the
 * body through to the full per-item check below.
 */
export function mentionsClientState(body: Buffer, clientStates: readonly string[]): boolean {
  const wanted = new Set(clientStates.map(sha256));
  const maxRawBytes = 6 * Math.max(graphMaxClientState, ...clientStates.map((c) => c.length));
  let at = body.indexOf(clientStateKey);
  for (let scanned = 0; at !== -1 && scanned < maxClientStatesScanned; scanned++) {
    let i = at + clientStateKey.length;
    while (i < body.length && isJsonSpace(body[i])) i++;
    if (body[i] === 0x3a /* : */) {
      i++;
      while (i < body.length && isJsonSpace(body[i])) i++;
      if (body[i] === 0x22 /* " */) {
        const value = rawString(body, i + 1, maxRawBytes);
        if (value !== undefined && wanted.has(sha256(value))) return true;
      }
    }
    at = body.indexOf(clientStateKey, at + clientStateKey.length);
  }
  return false;
}

const isJsonSpace = (c: number | undefined) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** The JSON string starting at `from` (after its opening quote), unescaped; undefined when too long or malformed. */
function rawString(body: Buffer, from: number, maxBytes: number): string | undefined {
  let escaped = false;
  const end = Math.min(body.length, from + maxBytes + 1);
  for (let i = from; i < end; i++) {
    const c = body[i];
    if (c === 0x5c /* \ */) {
      escaped = true;
      i++;
    } else if (c === 0x22) {
      const text = body.toString('utf8', from, i);
      if (!escaped) return text;
      try {
        return JSON.parse(`"${text}"`) as string;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * "How to validate": every token must be unexpired, signed by the Microsoft identity platform,
 * issued by the subscribing tenant for our app (audience), and its `appid` must be Graph's change
 * notification publisher. Returns what is wrong, or undefined. Key endpoint failures throw (503).
 */
async function validationTokensProblem(
  tokens: unknown,
  account: TeamsAccount,
  nowMs: number,
): Promise<string | undefined> {
  const { tenantId, clientId } = account.credentials ?? {};
  if (tenantId === undefined || clientId === undefined)
    return 'no credentials.tenantId/clientId to check validationTokens';
  if (!Array.isArray(tokens) || tokens.length === 0) return 'no validationTokens';
  const rules = {
    issuer: `https://sts.windows.net/${tenantId}/`,
    audience: clientId,
    algorithms: ['RS256'],
    clockToleranceSec: 300,
  };
  for (const token of tokens) {
    if (typeof token !== 'string') return 'validationTokens holds a non-string';
    const verdict = await verifyJwt(token, keySetAt(jwksKeySet, account.validationJwksUrl), rules, nowMs);
    if (!verdict.ok) return `validation token ${verdict.reason}`;
    if (verdict.payload.appid !== graphChangeTrackingAppId)
      return 'validation token appid is not Microsoft Graph Change Tracking';
  }
  return undefined;
}
