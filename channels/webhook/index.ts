import { z } from 'zod';
import type { ChannelAdapter, HttpMethod } from '../../src/channel.js';
import { RejectedError } from '../../src/errors.js';
import { isPresetAuth, type WebhookAccount, webhookAccount } from './config.js';
import { acceptsWebhook, normalizeWebhook, webhookPayload } from './normalize.js';
import { webhookRuntime } from './runtime.js';
import { presetInput, signedUrl, signWebhook, verifyWebhook, webhookProof } from './verify.js';

const defaultMethods: readonly HttpMethod[] = ['POST', 'PUT'];
const accepted = (ids: readonly string[]) => ({ status: 202, body: { ids } });

/** Generic triggers: `POST /webhook/{group}/{trigger}`, authenticated per `auth.scheme`. */
export const webhook = {
  name: 'webhook',
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
      // GET only for presets that name it (Dropbox's challenge); refused per trigger in handshake.
      methods: ['GET', 'POST', 'PUT'],
      accountId: (p) => `${p.group}/${p.trigger}`,
      accepts: acceptsWebhook,
      // An unsigned handshake (Dropbox's challenge) is answered before verification.
      handshake: (req, account) => {
        const preset = isPresetAuth(account.auth) ? account.auth.preset : undefined;
        const challenge = preset?.challenge?.(presetInput(req, ''));
        if (challenge) return challenge;
        const methods = preset?.methods ?? defaultMethods;
        if (!methods.includes(req.method as HttpMethod))
          throw new RejectedError('method_not_allowed', { allow: methods.join(', ') });
        return undefined;
      },
      verify: (req, account, ctx) => verifyWebhook(req, account, ctx),
      receive: (req, account, ctx) => {
        const { value: payload, raw } = webhookPayload(req);
        const auth = account.auth;
        if (!isPresetAuth(auth))
          return { events: [normalizeWebhook(req, account, payload)], reply: accepted, raw };
        const { preset, creds } = auth;
        // A signed handshake (Zoom, Twitch, Discord's PING) is answered only now that it verified; nothing is queued.
        const url = preset.signsUrl ? signedUrl(req, ctx.publicUrl) : '';
        const handshake = preset.handshake?.(presetInput(req, url), payload, creds, ctx.now());
        if (handshake) return { events: [], reply: () => handshake };
        return {
          events: [normalizeWebhook(req, account, payload)],
          reply: (ids) => preset.reply?.(ids, payload) ?? accepted(ids),
          raw,
        };
      },
    },
  ],
  sign: signWebhook,
  runtimeAccounts: webhookRuntime,
} satisfies ChannelAdapter<WebhookAccount>;
