import { z } from 'zod';
import { httpUrl, name, queueName } from '../../src/config/fields.js';
import { resolveSecrets, secretFields, secretGiven } from '../../src/config/secret.js';

/**
 * Telegram's rule for `secret_token`: "1-256 characters. Only characters A-Z, a-z, 0-9, _ and -
 * are allowed." https://core.telegram.org/bots/api#setwebhook
 */
const secretTokenRule = /^[A-Za-z0-9_-]{1,256}$/;
const secretTokenMessage = (value: string) =>
  value.includes(':')
    ? 'must be 1-256 of A-Z a-z 0-9 _ - (Telegram\'s rule); it contains ":", which looks like a bot token: put that in botToken and choose a separate random secretToken'
    : "must be 1-256 of A-Z a-z 0-9 _ - (Telegram's rule for secret_token)";

/** A bot token as @BotFather issues it: `<bot id>:<secret>`. */
const botTokenRule = /^\d+:[A-Za-z0-9_-]+$/;

/** Update types Telegram knows are lower-case field names of the Update object (message, callback_query, …). */
const updateType = z
  .string()
  .regex(/^[a-z_]{1,64}$/, 'must be an Update field name such as message or callback_query');

export const telegramAccount = z
  .strictObject({
    account: name,
    ...secretFields('botToken'),
    ...secretFields('secretToken'),
    mode: z.enum(['webhook', 'polling']).default('webhook'),
    apiRoot: httpUrl
      .default('https://api.telegram.org')
      .describe('Bot API base URL; point it at a local Bot API server or a test double'),
    allowedUpdates: z
      .array(updateType)
      .optional()
      .describe('allowed_updates handed to setWebhook; absent: keep what Telegram has'),
    queue: queueName.optional().describe("route this account's events to another queue"),
  })
  .meta({
    allOf: [
      secretGiven('botToken'),
      // Webhook mode (the default) needs secretToken; polling takes nothing over HTTP.
      {
        anyOf: [
          { required: ['mode'], properties: { mode: { const: 'polling' } } },
          secretGiven('secretToken'),
        ],
      },
    ],
  })
  .transform((a, ctx) => {
    const resolved = resolveSecrets<typeof a, 'botToken', 'secretToken'>(
      a,
      ctx,
      ['botToken'],
      ['secretToken'],
    );
    // In webhook mode the secret token is what authenticates Telegram's requests.
    if (a.mode === 'webhook' && resolved.secretToken === undefined && a.secretTokenFile === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'required in webhook mode (or secretTokenFile)',
        path: ['secretToken'],
        input: undefined,
      });
    }
    for (const value of resolved.secretToken ?? []) {
      if (!secretTokenRule.test(value))
        ctx.addIssue({
          code: 'custom',
          message: secretTokenMessage(value),
          path: ['secretToken'],
          input: undefined,
        });
    }
    for (const value of resolved.botToken ?? []) {
      if (!botTokenRule.test(value)) {
        ctx.addIssue({
          code: 'custom',
          message: 'must look like 123456789:AA… (the token @BotFather gave)',
          path: ['botToken'],
          input: undefined,
        });
      }
    }
    return { ...resolved, apiRoot: a.apiRoot.replace(/\/+$/, '') };
  });

export type TelegramAccount = z.output<typeof telegramAccount>;
