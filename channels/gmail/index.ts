import { z } from 'zod';
import type { ChannelAdapter } from '../../src/channel.js';
import { type GmailAccount, gmailAccount } from './config.js';
import { gmailPoll } from './poll.js';
import { probeGmail } from './probe.js';

/** Gmail mailboxes, polled (users.history.list): no public inbound needed. */
export const gmail = {
  name: 'gmail',
  accounts: z.array(gmailAccount),
  accountId: (a) => a.account,
  queueOf: (a) => a.queue,
  probe: probeGmail,
  routes: [],
  loops: (a) => [gmailPoll(a)],
} satisfies ChannelAdapter<GmailAccount>;
