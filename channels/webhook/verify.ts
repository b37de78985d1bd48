import type { InboundRequest, ProofInfo, SignedRequest } from '../../src/channel.js';
import { RejectedError } from '../../src/errors.js';
import { header } from '../../src/http/parse.js';
import { type HmacScheme, signHmac, verifyHmac } from '../../src/verify/hmac.js';
import { signStandardWebhook, verifyStandardWebhook } from '../../src/verify/standard-webhooks.js';
import { bearerToken, verifyToken } from '../../src/verify/token.js';
import type { WebhookAccount } from './config.js';

type Verdict = 'ok' | 'missing' | 'mismatch';

function enforce(verdict: Verdict): void {
  if (verdict === 'missing') throw new RejectedError('missing_signature');
  if (verdict === 'mismatch') throw new RejectedError('bad_signature');
}

const hmacScheme = (auth: { encoding: 'hex' | 'base64'; prefix: string }): HmacScheme => ({
  algorithm: 'sha256',
  encoding: auth.encoding,
  prefix: auth.prefix,
});

export function verifyWebhook(req: InboundRequest, account: WebhookAccount, nowMs: number): void {
  const auth = account.auth;
  switch (auth.scheme) {
    case 'none':
      return;
    case 'token':
      enforce(
        verifyToken(bearerToken(header(req, 'authorization')) ?? header(req, 'x-relay-token'), auth.token),
      );
      return;
    case 'hmac-sha256':
      enforce(verifyHmac(header(req, auth.headerLower), req.body, auth.secrets, hmacScheme(auth)));
      return;
    case 'standard-webhooks': {
      const verdict = verifyStandardWebhook(
        {
          id: header(req, 'webhook-id'),
          timestamp: header(req, 'webhook-timestamp'),
          signature: header(req, 'webhook-signature'),
        },
        req.body,
        auth.secrets,
        nowMs,
        auth.toleranceSec,
      );
      if (verdict.ok) return;
      if (verdict.reason === 'stale') {
        throw new RejectedError(
          'stale_timestamp',
          verdict.skewSec === undefined ? {} : { skewSec: verdict.skewSec },
        );
      }
      enforce(verdict.reason);
    }
  }
}

/** Headers a sender would add; the first configured secret signs. */
export function signWebhook(account: WebhookAccount, body: Buffer, nowMs: number): SignedRequest {
  const path = `/webhook/${account.group}/${account.trigger}`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const auth = account.auth;
  switch (auth.scheme) {
    case 'token':
      headers.authorization = `Bearer ${auth.token[0]}`;
      break;
    case 'hmac-sha256':
      headers[auth.headerLower] = signHmac(auth.secrets[0] ?? '', body, hmacScheme(auth));
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
  switch (auth.scheme) {
    case 'hmac-sha256':
      return { headers: [auth.header], secretField: 'auth.secrets' };
    case 'token':
      return { headers: ['Authorization'], alternative: 'X-Relay-Token', secretField: 'auth.token' };
    case 'standard-webhooks':
      return {
        headers: ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
        secretField: 'auth.secrets',
      };
    case 'none':
      return undefined;
  }
}
