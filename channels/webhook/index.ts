import { z } from 'zod';
import type { ChannelAdapter } from '../../src/channel.js';
import { type WebhookAccount, webhookAccount } from './config.js';
import { acceptsWebhook, normalizeWebhook } from './normalize.js';
import { signWebhook, verifyWebhook, webhookProof } from './verify.js';

/** Generic triggers: `POST /webhook/{group}/{trigger}`, authenticated per `auth.scheme`. */
export const webhook = {
  name: 'webhook',
  configKey: 'webhook',
  urlName: 'webhook',
  accounts: z.array(webhookAccount),
  accountId: (a) => `${a.group}/${a.trigger}`,
  queueOf: (a) => a.queue,
  warnings: (a) =>
    a.auth.scheme === 'none'
      ? [
          `trigger ${a.group}/${a.trigger} accepts unsigned requests (auth.scheme: none): anyone who finds the URL can enqueue events`,
        ]
      : [],
  proofOf: webhookProof,
  routes: [
    {
      path: '/webhook/:group/:trigger',
      methods: ['POST', 'PUT'],
      accountId: (p) => `${p.group}/${p.trigger}`,
      accepts: acceptsWebhook,
      verify: (req, account, ctx) => verifyWebhook(req, account, ctx.now()),
      receive: (req, account) => ({
        events: [normalizeWebhook(req, account)],
        reply: (ids) => ({ status: 202, body: { ids } }),
      }),
    },
  ],
  sign: signWebhook,
} satisfies ChannelAdapter<WebhookAccount>;
