import { z } from 'zod';
import type { ChannelAdapter } from '../../src/channel.js';
import { header } from '../../src/http/parse.js';
import { type SlackAccount, slackAccount } from './config.js';
import { acceptsSlack, receiveSlack, sslCheck } from './normalize.js';
import { signSlack, verifySlack } from './verify.js';

/** Slack Events API, interactivity and slash commands over HTTP: `POST /slack/{account}/events`. */
export const slack = {
  name: 'slack',
  configKey: 'slack',
  urlName: 'slack',
  accounts: z.array(slackAccount),
  accountId: (a) => a.account,
  queueOf: (a) => a.queue,
  warnings: (a) =>
    a.appToken
      ? [
          `slack account "${a.account}" sets appToken, but Socket Mode is not running yet: only the HTTP route receives events`,
        ]
      : [],
  routes: [
    {
      path: '/slack/:account/events',
      methods: ['POST'],
      accepts: acceptsSlack,
      handshake: (req) => sslCheck(req),
      verify: (req, account, ctx) => verifySlack(req, account.signingSecret, ctx.now()),
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
    const timestamp = String(Math.floor(nowMs / 1000));
    const json = body.subarray(0, 1).toString() === '{';
    return {
      method: 'POST',
      path: `/slack/${account.account}/events`,
      headers: {
        'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': timestamp,
        'x-slack-signature': signSlack(account.signingSecret[0] ?? '', timestamp, body),
      },
    };
  },
} satisfies ChannelAdapter<SlackAccount>;
