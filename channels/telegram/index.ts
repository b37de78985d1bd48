import { z } from 'zod';
import type { ChannelAdapter } from '../../src/channel.js';
import { type TelegramAccount, telegramAccount } from './config.js';
import { acceptsTelegram, receiveTelegram } from './normalize.js';
import { signTelegram, verifyTelegram } from './verify.js';
import { webhookLoop } from './webhook.js';

/** Telegram bots: `POST /telegram/{account}` (webhook mode), registered with setWebhook at start. */
export const telegram = {
  name: 'telegram',
  configKey: 'telegram',
  urlName: 'telegram',
  accounts: z.array(telegramAccount),
  accountId: (a) => a.account,
  queueOf: (a) => a.queue,
  warnings: (a) =>
    a.mode === 'polling'
      ? [
          `telegram account "${a.account}": mode polling is not implemented yet, so this bot receives no updates; use mode: webhook with publicUrl`,
        ]
      : [],
  // Polling (getUpdates) is the outbound-loops issue's work; until then it runs no loop.
  loops: (a) => (a.mode === 'webhook' ? [webhookLoop(a)] : []),
  routes: [
    {
      path: '/telegram/:account',
      methods: ['POST'],
      accepts: acceptsTelegram,
      verify: verifyTelegram,
      receive: (req) => ({ events: receiveTelegram(req) }),
    },
  ],
  sign: signTelegram,
} satisfies ChannelAdapter<TelegramAccount>;
