import { z } from 'zod';
import { name, queueName } from '../../src/config/fields.js';
import { resolveSecrets, secretFields, secretGiven } from '../../src/config/secret.js';

/** One WhatsApp Business (Meta Cloud API) app subscription: `GET|POST /whatsapp/{account}`. */
export const whatsappAccount = z
  .strictObject({
    account: name,
    // The App Secret from the app dashboard (App settings > Basic): Meta's HMAC key.
    ...secretFields('appSecret'),
    // Any string the operator chooses and also types into the dashboard's Verify Token field.
    ...secretFields('verifyToken'),
    queue: queueName.optional().describe("route this account's events to another queue"),
  })
  .meta({ allOf: [secretGiven('appSecret'), secretGiven('verifyToken')] })
  .transform((a, ctx) =>
    resolveSecrets<typeof a, 'appSecret' | 'verifyToken'>(a, ctx, ['appSecret', 'verifyToken']),
  );

export type WhatsappAccount = z.output<typeof whatsappAccount>;
