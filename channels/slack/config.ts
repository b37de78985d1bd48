import { z } from 'zod';
import { httpUrl, name, queueName } from '../../src/config/fields.js';
import { resolveSecrets, secretFields, secretGiven, type WithSecrets } from '../../src/config/secret.js';

const base = z
  .strictObject({
    account: name,
    ...secretFields('signingSecret', 'appToken'),
    apiUrl: httpUrl.default('https://slack.com/api/').describe('Web API base; a test double in tests'),
    queue: queueName.optional().describe("route this account's events to another queue"),
  })
  // HTTP (Events API) needs signingSecret, Socket Mode appToken; either alone is a working account.
  .meta({ anyOf: [secretGiven('signingSecret'), secretGiven('appToken')] });

type Resolved = WithSecrets<z.output<typeof base>, never, 'signingSecret' | 'appToken'>;

export const slackAccount = base.transform((a, ctx): Resolved => {
  const resolved = resolveSecrets<typeof a, never, 'signingSecret' | 'appToken'>(
    a,
    ctx,
    [],
    ['signingSecret', 'appToken'],
  );
  if (
    resolved.signingSecret === undefined &&
    resolved.appToken === undefined &&
    a.signingSecretFile === undefined &&
    a.appTokenFile === undefined
  ) {
    ctx.addIssue({
      code: 'custom',
      message:
        'give signingSecret (Events API over HTTP), appToken (Socket Mode), or both (or their File forms)',
      path: ['signingSecret'],
      input: undefined,
    });
  }
  // Socket Mode needs an app-level token; a bot token (xoxb-) here is the classic mistake.
  // https://api.slack.com/apis/socket-mode#token
  if (resolved.appToken?.some((t) => !t.startsWith('xapp-'))) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be an app-level token (xapp-…)',
      path: ['appToken'],
      input: undefined,
    });
  }
  return resolved;
});

export type SlackAccount = z.output<typeof slackAccount>;
