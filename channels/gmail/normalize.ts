import type { ChannelEvent } from '../../src/channel.js';
import type { GmailMessage } from './mailbox.js';

function header(message: GmailMessage, name: string): string | undefined {
  const lower = name.toLowerCase();
  return message.payload?.headers?.find((h) => h.name?.toLowerCase() === lower)?.value ?? undefined;
}

/** Drafts are added to history on every save; they are not mail anyone received. */
export const isDraft = (message: GmailMessage): boolean => message.labelIds?.includes('DRAFT') ?? false;

/** One `users.messages.get` resource → `gmail.message`, keyed by the message id (stable across deliveries). */
export function normalizeGmailMessage(message: GmailMessage): ChannelEvent {
  const id = message.id ?? undefined;
  const thread = message.threadId ?? undefined;
  const internalMs = Number(message.internalDate);
  return {
    type: 'gmail.message',
    key: id,
    subject: thread,
    time: Number.isFinite(internalMs) && internalMs > 0 ? new Date(internalMs).toISOString() : undefined,
    payload: message,
    message: {
      id,
      conversation: thread,
      sender: header(message, 'From'),
      text: message.snippet ?? undefined,
      subject: header(message, 'Subject'),
    },
  };
}
