import { startFakeGmail } from '../../test/fakes/gmail-api.js';
import { describeMailboxLoop } from '../../test/support/mailbox-suite.js';
import { exampleAccount } from './fixtures/config.js';
import { parsePosition } from './poll.js';

describeMailboxLoop({
  name: 'gmail',
  startFake: startFakeGmail,
  pollKind: 'history',
  config: (apiRoot, redis) => ({
    ...(redis ? { redis } : {}),
    channels: {
      gmail: [
        {
          ...exampleAccount,
          pollSeconds: 0.2,
          apiRoot,
          credentials: { ...exampleAccount.credentials, tokenUrl: `${apiRoot}/token` },
        },
      ],
    },
  }),
  messageId: (e) => (e.data.message as { id: string }).id,
  cursorField: 'gmail:support-inbox:poll',
  parsePosition,
  advanced: (fake, cursor) => cursor.historyId === String(fake.historyId()),
  fetched: (fake, id) => fake.callsOf('get').some((c) => c.path.endsWith(id)),
  resumedFrom: (query, before) => [query.get('startHistoryId'), before.historyId],
});
