import { z } from 'zod';
import type { ChannelAdapter } from '../../src/channel.js';
import { isPresetAuth, type WebhookAccount, webhookAccount } from './config.js';
import { acceptsWebhook, normalizeWebhook, webhookPayload } from './normalize.js';
import { presetInput, signedUrl, signWebhook, verifyWebhook, webhookProof } from './verify.js';

const accepted = (ids: readonly string[]) => ({ status: 202, body: { ids } });

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
      // An unsigned handshake (Dropbox's challenge) is answered before verification.
      handshake: (req, account) =>
        isPresetAuth(account.auth) ? account.auth.preset.challenge?.(presetInput(req, '')) : undefined,
      verify: (req, account, ctx) => verifyWebhook(req, account, ctx),
      receive: (req, account, ctx) => {
        const payload = webhookPayload(req);
        const auth = account.auth;
        if (!isPresetAuth(auth))
          return { events: [normalizeWebhook(req, account, payload)], reply: accepted };
        const { preset, creds } = auth;
        // A signed handshake (Zoom, Twitch, Discord's PING) is answered only now that it verified; nothing is queued.
        const url = preset.signsUrl ? signedUrl(req, ctx.publicUrl) : '';
        const handshake = preset.handshake?.(presetInput(req, url), payload, creds, ctx.now());
        if (handshake) return { events: [], reply: () => handshake };
        return {
          events: [normalizeWebhook(req, account, payload)],
          reply: (ids) => preset.reply?.(ids, payload) ?? accepted(ids),
        };
      },
    },
  ],
  sign: signWebhook,
} satisfies ChannelAdapter<WebhookAccount>;
