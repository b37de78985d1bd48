import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { httpUrl, name, queueName } from '../../src/config/fields.js';
import {
  type IssueSink,
  issuesUnder,
  resolveSecrets,
  type SecretList,
  secretFields,
  secretGiven,
  secretList,
} from '../../src/config/secret.js';

export const defaultGmailApiRoot = 'https://gmail.googleapis.com';
export const googleTokenUrl = 'https://oauth2.googleapis.com/token';

/** JSON Schema: none of these keys is present (any value, even null, counts as given here). */
const noneOf = (...keys: string[]) => ({ not: { anyOf: keys.map((k) => ({ required: [k] })) } });
const secretKeys = ['clientSecret', 'clientSecretFile', 'refreshToken', 'refreshTokenFile'];

/** `{clientId, clientSecret, refreshToken}`, `{serviceAccountFile, subject}` or `{accessToken}`. */
const credentialsInput = z
  .strictObject({
    clientId: z.string().min(1).optional(),
    ...secretFields('clientSecret', 'refreshToken', 'accessToken'),
    serviceAccountFile: z
      .string()
      .min(1)
      .optional()
      .describe('service account key (JSON) with domain-wide delegation'),
    subject: z.string().min(1).optional().describe('the mailbox the service account acts as'),
    tokenUrl: httpUrl.optional().describe(`OAuth token endpoint; default ${googleTokenUrl}`),
  })
  .meta({
    // The rules of credentialsOf below, for editors (docs/relay.schema.json): exactly one of three kinds.
    anyOf: [
      { allOf: [secretGiven('accessToken'), noneOf('clientId', 'serviceAccountFile', ...secretKeys)] },
      {
        allOf: [
          { required: ['serviceAccountFile', 'subject'] },
          noneOf('clientId', 'accessToken', 'accessTokenFile', ...secretKeys),
        ],
      },
      {
        allOf: [
          { required: ['clientId'] },
          secretGiven('clientSecret'),
          secretGiven('refreshToken'),
          noneOf('serviceAccountFile', 'accessToken', 'accessTokenFile'),
        ],
      },
    ],
  });

export type GmailCredentials =
  | {
      readonly kind: 'refresh';
      readonly clientId: string;
      readonly clientSecret: SecretList;
      readonly refreshToken: SecretList;
      readonly tokenUrl: string;
    }
  | {
      readonly kind: 'serviceAccount';
      readonly clientEmail: string;
      readonly privateKey: SecretList;
      readonly privateKeyId: string | undefined;
      readonly subject: string;
      readonly tokenUrl: string;
    }
  | { readonly kind: 'token'; readonly accessToken: SecretList };

const issue = (ctx: IssueSink, message: string, path: string) =>
  ctx.addIssue({ code: 'custom', message, path: [path], input: undefined });

function serviceAccount(
  file: string,
  subject: string | undefined,
  tokenUrl: string | undefined,
  ctx: IssueSink,
): GmailCredentials | undefined {
  if (subject === undefined)
    issue(ctx, 'required with serviceAccountFile (the mailbox to act as)', 'subject');
  let key: Record<string, unknown>;
  try {
    key = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'not JSON';
    issue(ctx, `cannot read service account key ${file} (${code})`, 'serviceAccountFile');
    return undefined;
  }
  const { client_email: clientEmail, private_key: privateKey, private_key_id: keyId, token_uri: uri } = key;
  if (key.type !== 'service_account' || typeof clientEmail !== 'string' || typeof privateKey !== 'string') {
    issue(ctx, 'must be a service account key: type, client_email, private_key', 'serviceAccountFile');
    return undefined;
  }
  if (subject === undefined) return undefined;
  return {
    kind: 'serviceAccount',
    clientEmail,
    privateKey: secretList(privateKey),
    privateKeyId: typeof keyId === 'string' ? keyId : undefined,
    subject,
    tokenUrl: tokenUrl ?? (typeof uri === 'string' ? uri : googleTokenUrl),
  };
}

function credentialsOf(
  input: z.output<typeof credentialsInput>,
  parent: IssueSink,
): GmailCredentials | undefined {
  const ctx = issuesUnder(parent, 'credentials');
  const given = (k: 'clientSecret' | 'refreshToken' | 'accessToken') =>
    input[k] !== undefined || input[`${k}File`] !== undefined;
  const token = given('accessToken');
  const sa = input.serviceAccountFile !== undefined;
  const refresh = input.clientId !== undefined || given('clientSecret') || given('refreshToken');
  if (Number(token) + Number(sa) + Number(refresh) > 1) {
    issue(
      ctx,
      'give one of {clientId, clientSecret, refreshToken}, {serviceAccountFile, subject} or {accessToken}',
      'accessToken',
    );
    return undefined;
  }
  if (token) {
    return {
      kind: 'token',
      accessToken: resolveSecrets<typeof input, 'accessToken'>(input, ctx, ['accessToken']).accessToken,
    };
  }
  if (sa && input.serviceAccountFile)
    return serviceAccount(input.serviceAccountFile, input.subject, input.tokenUrl, ctx);
  const r = resolveSecrets<typeof input, 'clientSecret' | 'refreshToken'>(input, ctx, [
    'clientSecret',
    'refreshToken',
  ]);
  if (input.clientId === undefined)
    issue(ctx, 'required (or use serviceAccountFile, or accessToken)', 'clientId');
  if (input.clientId === undefined || !r.clientSecret || !r.refreshToken) return undefined;
  return {
    kind: 'refresh',
    clientId: input.clientId,
    clientSecret: r.clientSecret,
    refreshToken: r.refreshToken,
    tokenUrl: input.tokenUrl ?? googleTokenUrl,
  };
}

const accountInput = z.strictObject({
  account: name,
  user: z
    .string()
    .min(1)
    .default('me')
    .describe('mailbox: me, or the address (service accounts: the subject)'),
  credentials: credentialsInput,
  pollSeconds: z.number().min(0.1).max(86_400).default(30),
  backfillHours: z
    .number()
    .positive()
    .max(24 * 365)
    .optional()
    .describe('on the first run, also emit mail received this many hours back'),
  format: z.enum(['metadata', 'full']).default('metadata').describe('messages.get format'),
  apiRoot: httpUrl.default(defaultGmailApiRoot),
  queue: queueName.optional(),
});

export interface GmailAccount {
  readonly account: string;
  readonly user: string;
  readonly credentials: GmailCredentials;
  readonly pollSeconds: number;
  readonly backfillHours?: number | undefined;
  readonly format: 'metadata' | 'full';
  readonly apiRoot: string;
  readonly queue?: string | undefined;
}

export const gmailAccount = accountInput.transform((input, ctx): GmailAccount => {
  const credentials = credentialsOf(input.credentials, ctx);
  // Undefined only after an issue was reported: the parse fails.
  return credentials ? { ...input, credentials } : z.NEVER;
});
