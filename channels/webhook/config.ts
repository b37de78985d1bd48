import { z } from 'zod';
import { name, queueName } from '../../src/config/fields.js';
import { resolveSecrets, secretFields, type WithSecrets } from '../../src/config/secret.js';
import { assertStandardWebhookSecret } from '../../src/verify/standard-webhooks.js';

const hmacAuth = z.strictObject({
  scheme: z.literal('hmac-sha256'),
  ...secretFields('secrets'),
  header: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, 'must be a header name')
    .default('X-Signature-256'),
  prefix: z.string().default('').describe('written before the digest, e.g. "sha256="'),
  encoding: z.enum(['hex', 'base64']).default('hex'),
});
const tokenAuth = z.strictObject({ scheme: z.literal('token'), ...secretFields('token') });
const standardAuth = z.strictObject({
  scheme: z.literal('standard-webhooks'),
  ...secretFields('secrets'),
  toleranceSec: z.number().int().positive().default(300),
});
const noneAuth = z.strictObject({ scheme: z.literal('none') });

type HmacAuth = WithSecrets<z.output<typeof hmacAuth>, 'secrets'> & { headerLower: string };
type TokenAuth = WithSecrets<z.output<typeof tokenAuth>, 'token'>;
type StandardAuth = WithSecrets<z.output<typeof standardAuth>, 'secrets'>;
type NoneAuth = z.output<typeof noneAuth>;

const schemes = 'hmac-sha256, token, standard-webhooks (or none to accept unsigned requests)';

const auth = z
  .discriminatedUnion('scheme', [hmacAuth, tokenAuth, standardAuth, noneAuth], {
    error: (issue) =>
      issue.input === undefined ? `required: set auth.scheme to ${schemes}` : `must be one of ${schemes}`,
  })
  .transform((a, ctx): HmacAuth | TokenAuth | StandardAuth | NoneAuth => {
    switch (a.scheme) {
      case 'none':
        return a;
      case 'token':
        return resolveSecrets<typeof a, 'token'>(a, ctx, ['token']);
      case 'hmac-sha256':
        return {
          ...resolveSecrets<typeof a, 'secrets'>(a, ctx, ['secrets']),
          headerLower: a.header.toLowerCase(),
        };
      case 'standard-webhooks': {
        const resolved = resolveSecrets<typeof a, 'secrets'>(a, ctx, ['secrets']);
        for (const secret of resolved.secrets ?? []) {
          try {
            assertStandardWebhookSecret(secret);
          } catch {
            ctx.addIssue({
              code: 'custom',
              message: 'must be a whsec_<base64> key',
              path: ['secrets'],
              input: undefined,
            });
          }
        }
        return resolved;
      }
    }
  });

export const webhookAccount = z.strictObject({
  group: name,
  trigger: name,
  auth,
  queue: queueName.optional().describe("route this trigger's events to another queue"),
});

export type WebhookAccount = z.output<typeof webhookAccount>;
export type WebhookAuth = WebhookAccount['auth'];
