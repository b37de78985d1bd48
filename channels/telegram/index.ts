import { z } from 'zod';
import type { ChannelAdapter } from '../../src/channel.js';
import { registerTelegramCommands } from './cli.js';
import { type TelegramAccount, telegramAccount } from './config.js';
import { doctorTelegram, telegramProof } from './doctor.js';
import { acceptsTelegram, receiveTelegram } from './normalize.js';
import { pollingLoop } from './polling.js';
import { probeTelegram } from './probe.js';
import { signTelegram, verifyTelegram } from './verify.js';
import { webhookLoop } from './webhook.js';

/**
 * Telegram bots: `POST /telegram/{account}` (webhook mode, registered with setWebhook at start), or
 * a getUpdates long poll (polling mode, for relays without public inbound).
 */
export const telegram = {
  name: 'telegram',
  accounts: z.array(telegramAccount),
  accountId: (a) => a.account,
  queueOf: (a) => a.queue,
  loops: (a) => (a.mode === 'webhook' ? [webhookLoop(a)] : [pollingLoop(a)]),
  probe: probeTelegram,
  proofOf: telegramProof,
  doctor: doctorTelegram,
  routes: [
    {
      path: '/telegram/:account',
      methods: ['POST'],
      accepts: acceptsTelegram,
      verify: verifyTelegram,
      receive: receiveTelegram,
    },
  ],
  sign: signTelegram,
  commands: registerTelegramCommands,
} satisfies ChannelAdapter<TelegramAccount>;
