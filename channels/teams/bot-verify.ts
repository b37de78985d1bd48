import type { InboundRequest } from '../../src/channel.js';
import { RejectedError } from '../../src/errors.js';
import { header, type ParsedJson, parseJsonObject } from '../../src/request.js';
import { verifyJwt } from '../../src/verify/jwt.js';
import { bearerToken } from '../../src/verify/token.js';
import { routeNotConfigured } from '../../src/verify/unconfigured.js';
import { botAlgorithms, botKeySet } from './bot-keys.js';
import type { TeamsAccount } from './config.js';

/** The `iss` of every Bot Framework token. */
export const botFrameworkIssuer = 'https://api.botframework.com';

/**
 * Bot Framework, connector to bot ("Authentication with the Bot Connector API",
 * https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-authentication#connector-to-bot,
 * and botbuilder-js's ChannelValidation / JwtTokenExtractor / EndorsementsValidator):
 * `Authorization: Bearer <JWT>`, RS256/384/512, issuer https://api.botframework.com, audience the
 * bot's app id, lifetime with 5 minutes of clock skew, a key from the OpenID metadata document, the
 * `serviceurl` claim equal to the activity's `serviceUrl`, and, when the key lists `endorsements`,
 * the activity's `channelId` among them. These tokens are signed by Microsoft: they cannot be made
 * by hand, so `relay sign` does not cover this route. Returns the activity it parsed to bind the
 * token to it, for `receive`.
 */
export async function verifyBot(
  req: InboundRequest,
  account: TeamsAccount,
  nowMs: number,
): Promise<ParsedJson<Record<string, unknown>>> {
  if (account.appId === undefined) {
    throw routeNotConfigured('Bot Framework', 'appId');
  }
  const authorization = header(req, 'authorization');
  if (!authorization) throw new RejectedError('missing_signature');
  const token = bearerToken(authorization);
  if (!token) throw new RejectedError('bad_signature', { why: 'Authorization is not a Bearer token' });

  const keys = botKeySet(account.openIdMetadataUrl);
  const verdict = await verifyJwt(
    token,
    keys.getKey,
    {
      issuer: botFrameworkIssuer,
      audience: account.appId,
      algorithms: botAlgorithms,
      clockToleranceSec: 300,
    },
    nowMs,
  );
  if (!verdict.ok) throw new RejectedError('bad_signature', { why: `token ${verdict.reason}` });

  // The claims bind the token to this activity: parse only now that the token is Microsoft's.
  const parsed = parseJsonObject(req);
  const activity = parsed.value;
  const serviceUrl = verdict.payload.serviceurl;
  if (typeof serviceUrl !== 'string' || serviceUrl !== activity.serviceUrl) {
    throw new RejectedError('bad_signature', {
      why: 'serviceurl claim does not match the activity serviceUrl',
    });
  }
  const endorsements = verdict.header.kid === undefined ? undefined : keys.endorsements(verdict.header.kid);
  // Stricter than EndorsementsValidator, which lets an activity without channelId pass: a key that
  // is endorsed for some channels signs only activities that name one of them.
  if (endorsements && endorsements.length > 0) {
    const channelId = activity.channelId;
    if (typeof channelId !== 'string' || !endorsements.includes(channelId)) {
      throw new RejectedError('bad_signature', {
        why: 'signing key is not endorsed for the activity channelId',
      });
    }
  }
  return parsed;
}
