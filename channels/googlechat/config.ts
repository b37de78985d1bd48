import { z } from 'zod';
import { httpUrl, name, queueName } from '../../src/config/fields.js';
import { resolveSecrets, secretFields, secretGiven, type WithSecrets } from '../../src/config/secret.js';

/** The service account Google Chat sends as (https://developers.google.com/workspace/chat/verify-requests-from-chat). */
export const chatServiceAccount = 'chat@system.gserviceaccount.com';

/** Keys of the project-number JWT: Chat's own service account's x509 certificates. */
export const chatCertsUrl = `https://www.googleapis.com/service_accounts/v1/metadata/x509/${chatServiceAccount}`;

/** Keys of Google-signed OIDC ID tokens, in the same kid → PEM form (google-auth-library's PEM certs URL). */
export const googleOidcCertsUrl = 'https://www.googleapis.com/oauth2/v1/certs';

const credentials = z
  .strictObject({
    serviceAccountFile: z.string().min(1).optional().describe('path of a service account key (JSON)'),
    ...secretFields('accessToken'),
  })
  .meta({ oneOf: [{ required: ['serviceAccountFile'] }, secretGiven('accessToken')] })
  .transform((c, ctx): WithSecrets<typeof c, never, 'accessToken'> => {
    const resolved = resolveSecrets<typeof c, never, 'accessToken'>(c, ctx, [], ['accessToken']);
    const given = Number(c.serviceAccountFile !== undefined) + Number(resolved.accessToken !== undefined);
    if (given !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'give serviceAccountFile or accessToken (exactly one)',
        input: undefined,
      });
    }
    return resolved;
  });

const base = z
  .strictObject({
    account: name,
    audience: z
      .string()
      .refine((a) => /^\d{1,30}$/.test(a) || httpUrl.safeParse(a).success, {
        message: 'must be the project number (digits) or the endpoint URL set in the Chat app configuration',
      })
      .optional()
      .describe(
        "the Chat app's authentication audience: project number or HTTP endpoint URL; absent: the HTTP endpoint refuses every request (Pub/Sub only)",
      ),
    certsUrl: httpUrl
      .optional()
      .describe("signing keys (kid → PEM); default: Google's for the audience's mode"),
    serviceAccountEmail: z
      .email()
      .default(chatServiceAccount)
      .describe('endpoint-URL audience only: the `email` the ID token must carry'),
    subscription: z
      .string()
      .regex(
        /^projects\/[^/]+\/subscriptions\/[^/]+$/,
        'must be projects/{project}/subscriptions/{subscription}',
      )
      .optional(),
    credentials: credentials.optional(),
    apiRoot: httpUrl.default('https://pubsub.googleapis.com'),
    queue: queueName.optional().describe("route this account's events to another queue"),
  })
  // The HTTP endpoint needs audience, the Pub/Sub pull subscription; either alone is a working account.
  .meta({ anyOf: [{ required: ['audience'] }, { required: ['subscription'] }] });

export type GoogleChatMode = 'project-number' | 'endpoint-url';

export const googleChatAccount = base.transform((a, ctx) => {
  if (a.audience === undefined && a.subscription === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: 'give audience (HTTP endpoint), subscription (Pub/Sub), or both',
      path: ['audience'],
      input: undefined,
    });
  }
  const mode: GoogleChatMode =
    a.audience === undefined || /^\d+$/.test(a.audience) ? 'project-number' : 'endpoint-url';
  return {
    ...a,
    mode,
    certsUrl: a.certsUrl ?? (mode === 'project-number' ? chatCertsUrl : googleOidcCertsUrl),
  };
});

export type GoogleChatAccount = z.output<typeof googleChatAccount>;
