import { createPrivateKey } from 'node:crypto';
import { z } from 'zod';
import { httpUrl, name, queueName } from '../../src/config/fields.js';
import {
  type IssueSink,
  issuesUnder,
  resolveSecrets,
  type SecretList,
  secretFields,
  secretGiven,
} from '../../src/config/secret.js';

export const botOpenIdMetadataUrl = 'https://login.botframework.com/v1/.well-known/openidconfiguration';
/** `jwks_uri` of https://login.microsoftonline.com/common/.well-known/openid-configuration, where the Graph doc sends you. */
export const graphValidationJwksUrl = 'https://login.microsoftonline.com/common/discovery/keys';
export const defaultGraphUrl = 'https://graph.microsoft.com/v1.0';
/** Microsoft identity platform v2.0 token endpoint of a tenant (client credentials grant). */
export const defaultTokenUrl = (tenantId: string): string =>
  `https://login.microsoftonline.com/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`;

const changeType = z
  .string()
  .regex(
    /^(created|updated|deleted)(,(created|updated|deleted))*$/,
    'must be created, updated, deleted or a comma list of them',
  );

const subscription = z.strictObject({ resource: z.string().min(1), changeType });

/** `{tenantId, clientId, clientSecret}` (client credentials) or `{accessToken}` (manual fallback). */
const credentialsInput = z
  .strictObject({
    tenantId: z.string().min(1).optional(),
    clientId: z.string().min(1).optional(),
    tokenUrl: httpUrl
      .optional()
      .describe(
        'OAuth token endpoint; default https://login.microsoftonline.com/{tenantId}/oauth2/v2.0/token',
      ),
    ...secretFields('clientSecret', 'accessToken'),
  })
  .meta({
    anyOf: [
      {
        allOf: [
          secretGiven('accessToken'),
          { not: { required: ['clientSecret'] } },
          { not: { required: ['clientSecretFile'] } },
        ],
      },
      {
        allOf: [
          { not: { required: ['accessToken'] } },
          { not: { required: ['accessTokenFile'] } },
          { required: ['tenantId', 'clientId'] },
          secretGiven('clientSecret'),
        ],
      },
    ],
  });

export type TeamsCredentials =
  | {
      readonly kind: 'client';
      readonly tenantId: string;
      readonly clientId: string;
      readonly clientSecret: SecretList;
      readonly tokenUrl: string;
    }
  | {
      readonly kind: 'token';
      readonly accessToken: SecretList;
      readonly tenantId?: string;
      readonly clientId?: string;
    };

function credentialsOf(
  input: z.output<typeof credentialsInput>,
  parent: IssueSink,
): TeamsCredentials | undefined {
  const ctx = issuesUnder(parent, 'credentials');
  const { tenantId, clientId } = input;
  if (input.accessToken !== undefined || input.accessTokenFile !== undefined) {
    const r = resolveSecrets<typeof input, 'accessToken'>(input, ctx, ['accessToken']);
    if (r.clientSecret !== undefined || r.clientSecretFile !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'give clientSecret or accessToken, not both',
        path: ['clientSecret'],
        input: undefined,
      });
    }
    return {
      kind: 'token',
      accessToken: r.accessToken,
      ...(tenantId ? { tenantId } : {}),
      ...(clientId ? { clientId } : {}),
    };
  }
  const r = resolveSecrets<typeof input, 'clientSecret'>(input, ctx, ['clientSecret']);
  for (const [key, value] of [
    ['tenantId', tenantId],
    ['clientId', clientId],
  ] as const) {
    if (value === undefined)
      ctx.addIssue({
        code: 'custom',
        message: 'required (or use accessToken)',
        path: [key],
        input: undefined,
      });
  }
  if (tenantId === undefined || clientId === undefined) return undefined;
  return {
    kind: 'client',
    tenantId,
    clientId,
    clientSecret: r.clientSecret,
    tokenUrl: input.tokenUrl ?? defaultTokenUrl(tenantId),
  };
}

const accountInput = z
  .strictObject({
    account: name,
    ...secretFields('clientState', 'decryptionKey'),
    appId: z.string().min(1).optional().describe('Bot Framework bot app id: the audience of its JWTs'),
    openIdMetadataUrl: httpUrl.default(botOpenIdMetadataUrl),
    subscriptions: z.array(subscription).default([]),
    credentials: credentialsInput.optional(),
    graphUrl: httpUrl.default(defaultGraphUrl),
    validationJwksUrl: httpUrl
      .default(graphValidationJwksUrl)
      .describe('keys for the validationTokens of rich notifications'),
    queue: queueName.optional(),
  })
  .meta({
    // The same rules as the transform below, for editors (docs/relay.schema.json).
    allOf: [
      { anyOf: [secretGiven('clientState'), { required: ['appId'] }] },
      { anyOf: [secretGiven('clientState'), { properties: { subscriptions: { maxItems: 0 } } }] },
      { anyOf: [secretGiven('clientState'), { not: secretGiven('decryptionKey') }] },
      {
        anyOf: [
          { not: secretGiven('decryptionKey') },
          { required: ['credentials'], properties: { credentials: { required: ['tenantId', 'clientId'] } } },
        ],
      },
    ],
  });

export interface TeamsAccount {
  readonly account: string;
  /** Graph change notifications: every `value[]` item must carry one of these. Undefined: the Graph route rejects. */
  readonly clientState?: SecretList;
  /** PEM RSA private keys for rich notifications (a list during a certificate rotation). */
  readonly decryptionKey?: SecretList;
  /** Bot Framework: audience of the JWTs. Undefined: the Bot Framework route rejects. */
  readonly appId?: string;
  readonly openIdMetadataUrl: string;
  readonly subscriptions: readonly { readonly resource: string; readonly changeType: string }[];
  readonly credentials?: TeamsCredentials;
  readonly graphUrl: string;
  readonly validationJwksUrl: string;
  readonly queue?: string;
}

export const teamsAccount = accountInput.transform((input, ctx): TeamsAccount => {
  const r = resolveSecrets<typeof input, never, 'clientState' | 'decryptionKey'>(
    input,
    ctx,
    [],
    ['clientState', 'decryptionKey'],
  );
  const credentials = input.credentials ? credentialsOf(input.credentials, ctx) : undefined;
  const issue = (message: string, path: (string | number)[]) =>
    ctx.addIssue({ code: 'custom', message, path, input: undefined });

  if (r.clientState === undefined && r.appId === undefined) {
    issue('configure clientState (Graph change notifications), appId (Bot Framework), or both', [
      'clientState',
    ]);
  }
  // changeNotification.clientState: "The maximum length is 255 characters."
  if (r.clientState?.some((s) => s.length > 255))
    issue('must be at most 255 characters (Graph limit)', ['clientState']);
  if (r.subscriptions.length > 0 && r.clientState === undefined)
    issue('subscriptions need a clientState', ['subscriptions']);
  if (r.decryptionKey !== undefined) {
    r.decryptionKey.forEach((pem, i) => {
      try {
        if (createPrivateKey(pem).asymmetricKeyType !== 'rsa')
          issue('must be an RSA private key', ['decryptionKey', i]);
      } catch {
        issue('must be a PEM private key', ['decryptionKey', i]);
      }
    });
    if (r.clientState === undefined) issue('rich notifications need a clientState', ['decryptionKey']);
    // validationTokens are checked against the app (audience) and tenant (issuer) that subscribed.
    if (credentials?.tenantId === undefined || credentials.clientId === undefined) {
      issue(
        'rich notifications need credentials.tenantId and credentials.clientId (validationTokens issuer and audience)',
        ['credentials'],
      );
    }
  }

  return {
    account: r.account,
    ...(r.clientState ? { clientState: r.clientState } : {}),
    ...(r.decryptionKey ? { decryptionKey: r.decryptionKey } : {}),
    ...(r.appId ? { appId: r.appId } : {}),
    openIdMetadataUrl: r.openIdMetadataUrl,
    subscriptions: r.subscriptions,
    ...(credentials ? { credentials } : {}),
    graphUrl: r.graphUrl.replace(/\/$/, ''),
    validationJwksUrl: r.validationJwksUrl,
    ...(r.queue ? { queue: r.queue } : {}),
  };
});
