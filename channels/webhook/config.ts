import { z } from 'zod';
import { name, queueName } from '../../src/config/fields.js';
import {
  type IssueSink,
  requireStandardWebhookSecrets,
  resolveSecrets,
  secretFields,
  secretGiven,
  type WithSecrets,
} from '../../src/config/secret.js';
import { type HmacRow, hmacPreset } from '../../src/verify/presets/hmac-template.js';
import { type Preset, type PresetCredentials, presetNames, presets } from '../../src/verify/presets/index.js';

const hmacAuth = z
  .strictObject({
    scheme: z.literal('hmac-sha256'),
    ...secretFields('secrets'),
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, 'must be a header name')
      .default('X-Signature-256'),
    prefix: z.string().default('').describe('written before the digest, e.g. "sha256="'),
    encoding: z.enum(['hex', 'base64']).default('hex'),
    algorithm: z
      .enum(['sha256', 'sha1', 'sha512'])
      .default('sha256')
      .describe('the HMAC digest a sender uses'),
  })
  .meta(secretGiven('secrets'));
const tokenAuth = z
  .strictObject({
    scheme: z.literal('token'),
    ...secretFields('token'),
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, 'must be a header name')
      .optional()
      .describe('read the token only from this header (GitLab: X-Gitlab-Token)'),
  })
  .meta(secretGiven('token'));
const standardAuth = z
  .strictObject({
    scheme: z.literal('standard-webhooks'),
    ...secretFields('secrets'),
    toleranceSec: z.number().int().positive().default(300),
  })
  .meta(secretGiven('secrets'));
const noneAuth = z.strictObject({ scheme: z.literal('none') });

/**
 * Sender presets (`scheme: stripe`, …), one schema per credential kind: `secrets` for the
 * shared-secret family, `publicKey` for senders that sign with a private key (Discord).
 */
function presetAuths() {
  const named = (needs: Preset['needs']) =>
    [...presets.values()].filter((p) => p.needs === needs).map((p) => p.name) as [string, ...string[]];
  const bySecret = named('secrets');
  const byKey = named('publicKey');
  return [
    ...(bySecret.length > 0
      ? [
          z
            .strictObject({ scheme: z.enum(bySecret), ...secretFields('secrets') })
            .describe('a sender preset verified with a shared secret, as the sender documents')
            .meta({ anyOf: [{ required: ['secrets'] }, { required: ['secretsFile'] }] }),
        ]
      : []),
    ...(byKey.length > 0
      ? [
          z
            .strictObject({
              scheme: z.enum(byKey),
              publicKey: z
                .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
                .describe("the sender's public key, or a list during a rotation"),
            })
            .describe("a sender preset verified with the sender's public key"),
        ]
      : []),
  ];
}

/** A verified preset trigger: the preset and its credentials, resolved once at load. */
export interface PresetAuth {
  readonly scheme: string;
  readonly preset: Preset;
  readonly creds: PresetCredentials;
}

export const isPresetAuth = (auth: WebhookAuth): auth is PresetAuth => 'preset' in auth;

/** `verifier` and `creds`: the scheme as a row on the templated verifier, built once at load. */
type HmacAuth = WithSecrets<z.output<typeof hmacAuth>, 'secrets'> & {
  headerLower: string;
  verifier: Preset;
  creds: PresetCredentials;
};
type TokenAuth = WithSecrets<z.output<typeof tokenAuth>, 'token'> & { headerLower?: string };
type StandardAuth = WithSecrets<z.output<typeof standardAuth>, 'secrets'>;
type NoneAuth = z.output<typeof noneAuth>;

const schemes = `hmac-sha256, token, standard-webhooks, a sender preset (${presetNames.join(', ')}), or none to accept unsigned requests`;

const auth = z
  .discriminatedUnion('scheme', [hmacAuth, tokenAuth, standardAuth, noneAuth, ...presetAuths()], {
    error: (issue) =>
      issue.input === undefined
        ? 'required: set auth.scheme to hmac-sha256, token, standard-webhooks, a sender preset such as github or stripe (docs/channels/webhook.md lists them), or none to accept unsigned requests'
        : `must be one of ${schemes}`,
  })
  .transform((a, ctx): HmacAuth | TokenAuth | StandardAuth | NoneAuth | PresetAuth => {
    const preset = presets.get(a.scheme);
    if (preset) return resolvePreset(preset, a, ctx);
    switch (a.scheme) {
      case 'none':
        return a as NoneAuth;
      case 'token': {
        const t = a as z.output<typeof tokenAuth>;
        return {
          ...resolveSecrets<typeof t, 'token'>(t, ctx, ['token']),
          ...(t.header ? { headerLower: t.header.toLowerCase() } : {}),
        };
      }
      case 'hmac-sha256': {
        const h = a as z.output<typeof hmacAuth>;
        const resolved = resolveSecrets<typeof h, 'secrets'>(h, ctx, ['secrets']);
        return {
          ...resolved,
          headerLower: h.header.toLowerCase(),
          verifier: hmacPreset(genericHmacRow(h)),
          creds: { secrets: resolved.secrets ?? [], publicKeys: [] },
        };
      }
      default: {
        const s = a as z.output<typeof standardAuth>;
        const resolved = resolveSecrets<typeof s, 'secrets'>(s, ctx, ['secrets']);
        requireStandardWebhookSecrets(resolved.secrets, ctx, 'secrets');
        return resolved;
      }
    }
  });

/** The generic `hmac-sha256` scheme is a row like any sender's: one header, a prefix, the body signed. */
function genericHmacRow(a: z.output<typeof hmacAuth>): HmacRow {
  return {
    name: 'hmac-sha256',
    doc: 'https://relay.example.com/docs/channels/webhook.md',
    algorithm: a.algorithm,
    encoding: a.encoding,
    headers: [a.header],
    format: { kind: 'plain', prefix: a.prefix },
    content: '{body}',
  };
}

function resolvePreset(preset: Preset, a: Record<string, unknown>, ctx: IssueSink): PresetAuth {
  if (preset.needs === 'publicKey') {
    const key = a.publicKey as string | string[];
    const publicKeys = typeof key === 'string' ? [key] : key;
    for (const k of publicKeys) {
      try {
        preset.assertPublicKey?.(k);
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          message: (err as Error).message,
          path: ['publicKey'],
          input: undefined,
        });
      }
    }
    return { scheme: preset.name, preset, creds: { secrets: [], publicKeys } };
  }
  const resolved = resolveSecrets<Record<string, unknown>, 'secrets'>(a, ctx, ['secrets']);
  return { scheme: preset.name, preset, creds: { secrets: resolved.secrets ?? [], publicKeys: [] } };
}

export const webhookAccount = z.strictObject({
  group: name,
  trigger: name,
  auth,
  queue: queueName.optional().describe("route this trigger's events to another queue"),
});

export type WebhookAccount = z.output<typeof webhookAccount>;
export type WebhookAuth = WebhookAccount['auth'];
