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

export const defaultGraphUrl = 'https://graph.microsoft.com/v1.0';
export const defaultAuthorityUrl = 'https://login.microsoftonline.com';

/**
 * `{tenantId, clientId, clientSecret}` (client credentials: app-only Mail.Read),
 * `{tenantId, clientId, refreshToken, clientSecret?}` (delegated: the refresh token `relay auth microsoft`
 * prints) or `{accessToken}`.
 */
const credentialsInput = z
  .strictObject({
    tenantId: z.string().min(1).optional(),
    clientId: z.string().min(1).optional(),
    ...secretFields('clientSecret', 'refreshToken', 'accessToken'),
    authorityUrl: httpUrl
      .default(defaultAuthorityUrl)
      .describe(
        'Microsoft identity platform host: the token endpoint is {authorityUrl}/{tenantId}/oauth2/v2.0/token',
      ),
  })
  .meta({
    // The rules of credentialsOf below, for editors (docs/relay.schema.json).
    anyOf: [
      {
        allOf: [
          secretGiven('accessToken'),
          { not: secretGiven('clientSecret') },
          { not: secretGiven('refreshToken') },
        ],
      },
      {
        allOf: [
          { not: secretGiven('accessToken') },
          { required: ['tenantId', 'clientId'] },
          { anyOf: [secretGiven('clientSecret'), secretGiven('refreshToken')] },
        ],
      },
    ],
  });

export type OutlookCredentials =
  | {
      readonly kind: 'client';
      readonly tenantId: string;
      readonly clientId: string;
      readonly clientSecret: SecretList;
      readonly authorityUrl: string;
    }
  | {
      readonly kind: 'delegated';
      readonly tenantId: string;
      readonly clientId: string;
      readonly refreshToken: SecretList;
      /** Only for a confidential client; a public client (the device code flow's) has none. */
      readonly clientSecret?: SecretList | undefined;
      readonly authorityUrl: string;
    }
  | { readonly kind: 'token'; readonly accessToken: SecretList };

type SecretKey = 'clientSecret' | 'refreshToken' | 'accessToken';

function credentialsOf(
  input: z.output<typeof credentialsInput>,
  parent: IssueSink,
): OutlookCredentials | undefined {
  const ctx = issuesUnder(parent, 'credentials');
  const issue = (message: string, path?: string) =>
    ctx.addIssue({ code: 'custom', message, path: path ? [path] : [], input: undefined });
  // An empty value (`${VAR:-}`, YAML null) means not set.
  const given = (k: SecretKey) => (input[k] ?? undefined) !== undefined || input[`${k}File`] !== undefined;
  const secret = given('clientSecret');
  const refresh = given('refreshToken');
  if (given('accessToken')) {
    if (secret) issue('give clientSecret or accessToken, not both', 'clientSecret');
    if (refresh) issue('give refreshToken or accessToken, not both', 'refreshToken');
    const r = resolveSecrets<typeof input, 'accessToken'>(input, ctx, ['accessToken']);
    return secret || refresh ? undefined : { kind: 'token', accessToken: r.accessToken };
  }
  if (input.tenantId === undefined) issue('required (or use accessToken)', 'tenantId');
  if (input.clientId === undefined) issue('required (or use accessToken)', 'clientId');
  if (!secret && !refresh)
    issue(
      'give refreshToken (delegated access: run relay auth microsoft) or clientSecret (app-only access), or use accessToken',
    );
  const r = resolveSecrets<typeof input, never, 'clientSecret' | 'refreshToken'>(
    input,
    ctx,
    [],
    ['clientSecret', 'refreshToken'],
  );
  if (input.tenantId === undefined || input.clientId === undefined) return undefined;
  const app = {
    tenantId: input.tenantId,
    clientId: input.clientId,
    authorityUrl: input.authorityUrl.replace(/\/+$/, ''),
  };
  // A file that could not be read leaves its secret unset, with the issue already reported.
  if (refresh)
    return r.refreshToken && (!secret || r.clientSecret)
      ? { kind: 'delegated', ...app, refreshToken: r.refreshToken, clientSecret: r.clientSecret }
      : undefined;
  return r.clientSecret ? { kind: 'client', ...app, clientSecret: r.clientSecret } : undefined;
}

const accountInput = z.strictObject({
  account: name,
  user: z.string().min(1).describe('the mailbox: user principal name, address or id'),
  folder: z.string().min(1).default('inbox').describe('well-known folder name (inbox) or folder id'),
  credentials: credentialsInput,
  pollSeconds: z.number().min(0.1).max(86_400).default(30),
  backfillHours: z
    .number()
    .positive()
    .max(24 * 365)
    .optional()
    .describe('on the first run, also emit mail received this many hours back'),
  graphUrl: httpUrl.default(defaultGraphUrl),
  queue: queueName.optional(),
});

export interface OutlookAccount {
  readonly account: string;
  readonly user: string;
  readonly folder: string;
  readonly credentials: OutlookCredentials;
  readonly pollSeconds: number;
  readonly backfillHours?: number | undefined;
  readonly graphUrl: string;
  readonly queue?: string | undefined;
}

export const outlookAccount = accountInput.transform((input, ctx): OutlookAccount => {
  const credentials = credentialsOf(input.credentials, ctx);
  // Undefined only after an issue was reported: the parse fails.
  return credentials ? { ...input, graphUrl: input.graphUrl.replace(/\/+$/, ''), credentials } : z.NEVER;
});
