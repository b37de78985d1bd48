import type { InboundRequest } from '../../src/channel.js';
import { RejectedError } from '../../src/errors.js';
import { header } from '../../src/request.js';
import { type JwtRules, verifyJwt, x509KeySet } from '../../src/verify/jwt.js';
import { keySetAt } from '../../src/verify/key-sets.js';
import { bearerToken } from '../../src/verify/token.js';
import { routeNotConfigured } from '../../src/verify/unconfigured.js';
import { chatServiceAccount, type GoogleChatAccount } from './config.js';

/**
 * Google Chat sends `Authorization: Bearer <JWT>`
 * (https://developers.google.com/workspace/chat/verify-requests-from-chat). Which token depends on
 * the app's authentication audience:
 * - project number: a JWT issued by chat@system.gserviceaccount.com, `aud` = the project number,
 *   signed by the keys in that account's x509 map;
 * - HTTP endpoint URL: a Google OIDC ID token, `aud` = the URL exactly, `email` = the sender's
 *   service account with `email_verified`. Issuers, clock skew and the PEM certs URL are
 *   google-auth-library's OAuth2Client.verifyIdToken (ISSUERS_, CLOCK_SKEW_SECS_ = 300).
 * Google signs with RS256 only; anything else is refused.
 */
export const googleIssuers = ['https://accounts.google.com', 'accounts.google.com'];
const clockToleranceSec = 300;

export function googleChatRules(account: GoogleChatAccount, audience: string): JwtRules {
  return {
    issuer: account.mode === 'project-number' ? chatServiceAccount : googleIssuers,
    audience,
    algorithms: ['RS256'],
    clockToleranceSec,
  };
}

export async function verifyGoogleChat(
  req: InboundRequest,
  account: GoogleChatAccount,
  nowMs: number,
): Promise<void> {
  // A Pub/Sub-only account takes nothing over HTTP.
  if (account.audience === undefined) throw routeNotConfigured('the HTTP endpoint', 'audience');
  const token = bearerToken(header(req, 'authorization'));
  const rules = googleChatRules(account, account.audience);
  const verdict = await verifyJwt(token, keySetAt(x509KeySet, account.certsUrl), rules, nowMs);
  if (!verdict.ok) {
    if (verdict.reason === 'missing') throw new RejectedError('missing_signature');
    throw new RejectedError('bad_signature', {
      why: verdict.reason === 'expired' ? 'token expired' : 'token invalid',
    });
  }
  if (account.mode === 'endpoint-url') {
    // Any Google service account can get an ID token for our URL: only the Chat app's own counts.
    const { email, email_verified: verified } = verdict.payload;
    if (email !== account.serviceAccountEmail || verified !== true) {
      throw new RejectedError('bad_signature', { why: 'token not issued to the Chat service account' });
    }
  }
}
