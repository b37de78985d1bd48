import { z } from 'zod';
import type { ChannelAdapter } from '../../src/channel.js';
import { type OutlookAccount, outlookAccount } from './config.js';
import { outlookPoll } from './poll.js';
import { probeOutlook } from './probe.js';

/** Outlook / Exchange Online mailboxes, polled through Microsoft Graph delta: no public inbound needed. */
export const outlook = {
  name: 'outlook',
  accounts: z.array(outlookAccount),
  accountId: (a) => a.account,
  queueOf: (a) => a.queue,
  probe: probeOutlook,
  routes: [],
  loops: (a) => [outlookPoll(a)],
} satisfies ChannelAdapter<OutlookAccount>;
