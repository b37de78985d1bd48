import { z } from 'zod';
import { httpUrl, name, queueName } from '../../src/config/fields.js';
import { resolveSecrets, secretFields, type WithSecrets } from '../../src/config/secret.js';

const base = z.strictObject({
  account: name,
  ...secretFields('signingSecret', 'appToken'),
  apiUrl: httpUrl.default('https://slack.com/api/').describe('Web API base; a test double in tests'),
  queue: queueName.optional().describe("route this account's events to another queue"),
});

type Resolved = WithSecrets<z.output<typeof base>, 'signingSecret', 'appToken'>;

export const slackAccount = base.transform((a, ctx): Resolved => {
  const resolved = resolveSecrets<typeof a, 'signingSecret', 'appToken'>(
    a,
    ctx,
    ['signingSecret'],
    ['appToken'],
  );
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
