import { z } from 'zod';
import type { ChannelAdapter } from '../../src/channel.js';
import { type WhatsappAccount, whatsappAccount } from './config.js';
import { acceptsWhatsapp, receiveWhatsapp } from './normalize.js';
import { signWhatsapp, verifyWhatsapp, whatsappHandshake } from './verify.js';

/** WhatsApp Business (Meta Cloud API): `GET /whatsapp/{account}` handshake, `POST` signed notifications. */
export const whatsapp = {
  name: 'whatsapp',
  accounts: z.array(whatsappAccount),
  accountId: (a) => a.account,
  queueOf: (a) => a.queue,
  // The doctor's "header never arrives" diagnosis.
  proofOf: () => ({ headers: ['X-Hub-Signature-256'], secretField: 'appSecret' }),
  routes: [
    {
      path: '/whatsapp/:account',
      methods: ['GET', 'POST'],
      accepts: acceptsWhatsapp,
      handshake: whatsappHandshake,
      verify: verifyWhatsapp,
      receive: receiveWhatsapp,
    },
  ],
  sign: signWhatsapp,
} satisfies ChannelAdapter<WhatsappAccount>;
