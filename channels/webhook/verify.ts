import type { InboundRequest, ProofInfo, RouteContext, SignedRequest } from '../../src/channel.js';
import { header } from '../../src/request.js';
import type { PresetInput } from '../../src/verify/presets/index.js';
import { signStandardWebhook, verifyStandardWebhook } from '../../src/verify/standard-webhooks.js';
import { bearerToken, verifyToken } from '../../src/verify/token.js';
import { enforceVerdict } from '../../src/verify/verdict.js';
import { isPresetAuth, type WebhookAccount } from './config.js';

const first = (value: string | string[] | undefined) =>
  (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim();

/**
 * The URL a sender signed: `publicUrl` + the request's path and query as sent; without `publicUrl`,
 * the request's own URL (scheme and host as a proxy forwards them, else the Host header).
 */
export function signedUrl(req: InboundRequest, publicUrl: string | undefined): string {
  const target = req.target ?? (req.query.size > 0 ? `${req.path}?${req.query}` : req.path);
  if (publicUrl) return `${publicUrl.replace(/\/$/, '')}${target}`;
  const proto = first(req.headers['x-forwarded-proto']) ?? 'http';
  const host = first(req.headers['x-forwarded-host']) ?? req.headers.host ?? 'localhost';
  return `${proto}://${host}${target}`;
}

/** The request as presets see it; the URL only built for presets that sign it. */
export function presetInput(req: InboundRequest, url: string): PresetInput {
  return {
    method: req.method,
    url,
    headers: req.headers,
    query: req.query,
    body: req.body,
    mediaType: req.mediaType,
  };
}

/** A URL safe to log: no user or password. */
const loggable = (url: string) => url.replace(/^([a-z]+:\/\/)[^/@]*@/i, '$1');

export function verifyWebhook(
  req: InboundRequest,
  account: WebhookAccount,
  ctx: Pick<RouteContext, 'now' | 'publicUrl'>,
): void {
  const auth = account.auth;
  const nowMs = ctx.now();
  if (isPresetAuth(auth)) {
    const url = auth.preset.signsUrl ? signedUrl(req, ctx.publicUrl) : '';
    const verdict = auth.preset.verify(presetInput(req, url), auth.creds, nowMs);
    // Which URL was signed is the usual culprit when a URL-signing sender fails: say which one was used.
    enforceVerdict(verdict, auth.preset.signsUrl && !verdict.ok ? { url: loggable(url) } : undefined);
    return;
  }
  switch (auth.scheme) {
    case 'none':
      return;
    case 'token': {
      const provided = auth.headerLower
        ? header(req, auth.headerLower)
        : (bearerToken(header(req, 'authorization')) ?? header(req, 'x-relay-token'));
      enforceVerdict(verifyToken(provided, auth.token));
      return;
    }
    case 'hmac-sha256':
      enforceVerdict(auth.verifier.verify(presetInput(req, ''), auth.creds, nowMs));
      return;
    case 'standard-webhooks': {
      // Svix-powered senders write the same scheme under svix-* names.
      const svix = header(req, 'webhook-id') === undefined && header(req, 'svix-id') !== undefined;
      const verdict = verifyStandardWebhook(
        {
          id: header(req, svix ? 'svix-id' : 'webhook-id'),
          timestamp: header(req, svix ? 'svix-timestamp' : 'webhook-timestamp'),
          signature: header(req, svix ? 'svix-signature' : 'webhook-signature'),
        },
        req.body,
        auth.secrets,
        nowMs,
        auth.toleranceSec,
      );
      enforceVerdict(verdict);
    }
  }
}

/** Headers a sender would add; the first configured secret signs. */
export function signWebhook(
  account: WebhookAccount,
  body: Buffer,
  nowMs: number,
  publicUrl?: string,
): SignedRequest {
  const path = `/webhook/${account.group}/${account.trigger}`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const auth = account.auth;
  if (isPresetAuth(auth)) {
    if (!auth.preset.sign)
      throw new Error(
        `scheme ${auth.scheme}: only the sender can sign (it holds the private key, or the proof lives in the body it writes)`,
      );
    const url = `${publicUrl?.replace(/\/$/, '') ?? 'http://localhost'}${path}`;
    return {
      method: 'POST',
      path,
      headers: { ...headers, ...auth.preset.sign(auth.creds, body, nowMs, url) },
    };
  }
  switch (auth.scheme) {
    case 'token':
      if (auth.headerLower) headers[auth.headerLower] = auth.token[0] ?? '';
      else headers.authorization = `Bearer ${auth.token[0]}`;
      break;
    case 'hmac-sha256':
      Object.assign(headers, auth.verifier.sign?.(auth.creds, body, nowMs, ''));
      break;
    case 'standard-webhooks': {
      const id = `msg_${nowMs.toString(36)}${Math.random().toString(36).slice(2, 10)}`;
      const ts = Math.floor(nowMs / 1000);
      headers['webhook-id'] = id;
      headers['webhook-timestamp'] = String(ts);
      headers['webhook-signature'] = signStandardWebhook(auth.secrets[0] ?? '', id, ts, body);
      break;
    }
    case 'none':
      break;
  }
  return { method: 'POST', path, headers };
}

/** Where each scheme's proof travels, for `relay doctor`'s diagnoses; undefined for `none`. */
export function webhookProof(account: WebhookAccount): ProofInfo | undefined {
  const auth = account.auth;
  if (isPresetAuth(auth)) {
    return {
      headers: auth.preset.headers,
      secretField: auth.preset.needs === 'secrets' ? 'auth.secrets' : 'auth.publicKey',
    };
  }
  switch (auth.scheme) {
    case 'hmac-sha256':
      return { headers: [auth.header], secretField: 'auth.secrets' };
    case 'token':
      return auth.header
        ? { headers: [auth.header], secretField: 'auth.token' }
        : { headers: ['Authorization'], alternative: 'X-Relay-Token', secretField: 'auth.token' };
    case 'standard-webhooks':
      return {
        headers: ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
        secretField: 'auth.secrets',
      };
    case 'none':
      return undefined;
  }
}
