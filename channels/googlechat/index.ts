import { z } from 'zod';
import type { ChannelAdapter } from '../../src/channel.js';
import { type GoogleChatAccount, googleChatAccount } from './config.js';
import { acceptsGoogleChat, receiveGoogleChat } from './normalize.js';
import { pubsubLoop } from './pubsub.js';
import { probeGoogleChat } from './pubsub-probe.js';
import { verifyGoogleChat } from './verify.js';

/**
 * Google Chat apps on an HTTP endpoint: `POST /google-chat/{account}`; with `subscription`, also
 * (or instead) a Pub/Sub pull of the topic the Chat app publishes to. No `sign()`: the bearer JWT
 * is signed with Google's private keys, so no one outside Google can make a request this route
 * accepts (tests sign with their own keys served as `certsUrl`).
 */
export const googlechat = {
  name: 'googlechat',
  configKey: 'googleChat',
  urlName: 'google-chat',
  accounts: z.array(googleChatAccount),
  accountId: (a) => a.account,
  queueOf: (a) => a.queue,
  warnings: (a) =>
    a.subscription && !a.credentials
      ? [
          `googleChat account "${a.account}" sets subscription ${a.subscription} but no credentials: the Pub/Sub pull cannot run; add credentials.serviceAccountFile (or accessToken)`,
        ]
      : [],
  loops: (a) => (a.subscription ? [pubsubLoop(a)] : []),
  probe: probeGoogleChat,
  proofOf: () => ({ headers: ['Authorization'], secretField: 'audience' }),
  routes: [
    {
      path: '/google-chat/:account',
      methods: ['POST'],
      accepts: acceptsGoogleChat,
      verify: (req, account, ctx) => verifyGoogleChat(req, account, ctx.now()),
      // An empty synchronous reply: the Chat app answers later through the API, if at all.
      receive: receiveGoogleChat,
    },
  ],
} satisfies ChannelAdapter<GoogleChatAccount>;
