import type { InboundRequest, Reply, SignedRequest } from '../../src/channel.js';
import { RejectedError } from '../../src/errors.js';
import { header } from '../../src/request.js';
import { type HmacScheme, signHmac, verifyHmac } from '../../src/verify/hmac.js';
import { verifyToken } from '../../src/verify/token.js';
import { enforceVerdict } from '../../src/verify/verdict.js';
import type { WhatsappAccount } from './config.js';

/**
 * Meta signs every event notification with `X-Hub-Signature-256: sha256=<lowercase hex HMAC-SHA256>`
 * keyed by the App Secret, computed over the payload as sent: unicode-escaped JSON (`\u00e9`), so
 * only the raw bytes verify, never a re-serialized body.
 * https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads
 */
const metaScheme: HmacScheme = { algorithm: 'sha256', encoding: 'hex', prefix: 'sha256=' };

export function verifyWhatsapp(req: InboundRequest, account: WhatsappAccount): void {
  const verdict = verifyHmac(header(req, 'x-hub-signature-256'), req.body, account.appSecret, metaScheme);
  enforceVerdict(verdict);
}

/**
 * The verification request Meta sends when the callback URL is saved: `GET ?hub.mode=subscribe
 * &hub.challenge=…&hub.verify_token=…`; answer the challenge as is when the token matches.
 * https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests
 */
export function whatsappHandshake(req: InboundRequest, account: WhatsappAccount): Reply | undefined {
  if (req.method !== 'GET') return undefined;
  const mode = req.query.get('hub.mode');
  const challenge = req.query.get('hub.challenge');
  const token = req.query.get('hub.verify_token') ?? undefined;
  if (mode !== 'subscribe') throw new RejectedError('forbidden', { why: 'hub.mode is not subscribe' });
  if (verifyToken(token, account.verifyToken) !== 'ok')
    throw new RejectedError('forbidden', { why: 'verify token mismatch' });
  if (!challenge) throw new RejectedError('forbidden', { why: 'no hub.challenge' });
  return { status: 200, contentType: 'text/plain', body: challenge };
}

/** The headers Meta would send; the first configured App Secret signs. */
export function signWhatsapp(account: WhatsappAccount, body: Buffer): SignedRequest {
  return {
    method: 'POST',
    path: `/whatsapp/${account.account}`,
    headers: {
      'content-type': 'application/json',
      'x-hub-signature-256': signHmac(account.appSecret[0] ?? '', body, metaScheme),
    },
  };
}
