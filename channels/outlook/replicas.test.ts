import { startFakeGraph } from '../../test/fakes/graph-mail.js';
import { describeMailboxLoop } from '../../test/support/mailbox-suite.js';
import { exampleAccount } from './fixtures/config.js';
import { parsePosition } from './poll.js';

describeMailboxLoop({
  name: 'outlook',
  startFake: startFakeGraph,
  pollKind: 'delta',
  config: (graphUrl, redis) => ({
    ...(redis ? { redis } : {}),
    channels: {
      outlook: [
        {
          ...exampleAccount,
          pollSeconds: 0.2,
          graphUrl,
          credentials: { ...exampleAccount.credentials, authorityUrl: graphUrl.replace(/\/v1\.0$/, '') },
        },
      ],
    },
  }),
  messageId: (e) => (e.data.payload as { id: string }).id,
  cursorField: 'outlook:sales:poll',
  parsePosition,
  advanced: (_fake, cursor, since) => cursor.deltaLink !== since.deltaLink,
  fetched: (fake, id) => fake.deliveries(id) > 0,
  resumedFrom: (query, before) => [
    query.get('$deltatoken'),
    new URL(before.deltaLink).searchParams.get('$deltatoken'),
  ],
});
