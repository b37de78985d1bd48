import { z } from 'zod';
import type { ChannelAdapter } from '../../src/channel.js';
import { RelayError } from '../../src/errors.js';
import { header } from '../../src/request.js';
import { routeNotConfigured } from '../../src/verify/unconfigured.js';
import { type SlackAccount, slackAccount } from './config.js';
import { acceptsSlack, receiveSlack, sslCheck } from './normalize.js';
import { probeSlack } from './probe.js';
import { socketModeLoop } from './socket-mode.js';
import { signSlack, verifySlack } from './verify.js';

/**
 * Slack Events API, interactivity and slash commands over HTTP (`POST /slack/{account}/events`)
 * and over Socket Mode when the account has an `appToken`.
 */
export const slack = {
  name: 'slack',
  accounts: z.array(slackAccount),
  accountId: (a) => a.account,
  queueOf: (a) => a.queue,
  // With an app-level token, Slack delivers over Socket Mode (outbound), and the route stays for HTTP.
  loops: (a) => (a.appToken?.[0] ? [socketModeLoop(a)] : []),
  probe: probeSlack,
  proofOf: () => ({
    headers: ['X-Slack-Signature', 'X-Slack-Request-Timestamp'],
    secretField: 'signingSecret',
  }),
  routes: [
    {
      path: '/slack/:account/events',
      methods: ['POST'],
      accepts: acceptsSlack,
      handshake: (req) => sslCheck(req),
      verify: (req, account, ctx) => {
        // A Socket Mode-only account takes nothing over HTTP.
        if (!account.signingSecret) throw routeNotConfigured('Events API over HTTP', 'signingSecret');
        verifySlack(req, account.signingSecret, ctx.now());
      },
      receive: (req, account, ctx) => {
        // A retry (X-Slack-Retry-Num) carries the same event_id: dedupe answers it without a new job.
        const retry = header(req, 'x-slack-retry-num');
        if (retry)
          ctx.log.debug(
            { account: account.account, retry, reason: header(req, 'x-slack-retry-reason') },
            'slack retry',
          );
        return receiveSlack(req);
      },
    },
  ],
  sign: (account, body, nowMs) => {
    const secret = account.signingSecret?.[0];
    if (secret === undefined)
      throw new RelayError(
        'bad_flag',
        `slack account "${account.account}" has no signingSecret: it takes events over Socket Mode only, so no HTTP request of it can be signed`,
      );
    const timestamp = String(Math.floor(nowMs / 1000));
    const json = body.subarray(0, 1).toString() === '{';
    return {
      method: 'POST',
      path: `/slack/${account.account}/events`,
      headers: {
        'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': timestamp,
        'x-slack-signature': signSlack(secret, timestamp, body),
      },
    };
  },
} satisfies ChannelAdapter<SlackAccount>;
