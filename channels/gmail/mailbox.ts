import type { gmail_v1 } from '@googleapis/gmail';
import type { GmailAccount } from './config.js';
import { type GmailAuth, gmailSdk, statusOf } from './credentials.js';

export type GmailMessage = gmail_v1.Schema$Message;

const requestTimeoutMs = 30_000;

/** The few Gmail calls the poll loop makes, each abortable by the loop's signal. */
export class Mailbox {
  readonly #api: gmail_v1.Gmail;
  readonly #user: string;
  readonly #format: GmailAccount['format'];

  static async open(account: GmailAccount, auth: GmailAuth, signal: AbortSignal): Promise<Mailbox> {
    const { gmail } = await gmailSdk();
    // rootUrl replaces the origin of every method URL; retries are the supervisor's, so that a
    // 429's Retry-After reaches it instead of being absorbed by gaxios' own backoff.
    const api = gmail({
      version: 'v1',
      auth,
      rootUrl: account.apiRoot,
      retry: false,
      timeout: requestTimeoutMs,
    });
    return new Mailbox(account, api, signal);
  }

  private constructor(
    account: GmailAccount,
    api: gmail_v1.Gmail,
    private readonly signal: AbortSignal,
  ) {
    this.#api = api;
    this.#user = account.user;
    this.#format = account.format;
  }

  get #options() {
    return { signal: this.signal };
  }

  async historyId(): Promise<string> {
    const res = await this.#api.users.getProfile({ userId: this.#user }, this.#options);
    if (!res.data.historyId) throw new Error('Gmail getProfile answered without a historyId');
    return res.data.historyId;
  }

  /**
   * users.history.list from `startHistoryId`, one page at a time: the ids of added messages, and
   * the mailbox's history id as of that page. Throws a 404 error when the id is too old.
   * https://developers.google.com/workspace/gmail/api/guides/sync#partial_synchronization
   */
  async *added(startHistoryId: string): AsyncGenerator<{ ids: string[]; historyId: string }> {
    let pageToken: string | undefined;
    do {
      const res = await this.#api.users.history.list(
        {
          userId: this.#user,
          startHistoryId,
          historyTypes: ['messageAdded'],
          maxResults: 500,
          ...(pageToken ? { pageToken } : {}),
        },
        this.#options,
      );
      const ids = (res.data.history ?? []).flatMap((h) =>
        (h.messagesAdded ?? []).flatMap((a) => (a.message?.id ? [a.message.id] : [])),
      );
      if (!res.data.historyId) throw new Error('Gmail history.list answered without a historyId');
      yield { ids, historyId: res.data.historyId };
      pageToken = res.data.nextPageToken ?? undefined;
    } while (pageToken);
  }

  /** Ids of messages received since `epochSec` (`q=after:<epoch>`), oldest first. */
  async receivedSince(epochSec: number): Promise<string[]> {
    const ids: string[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.#api.users.messages.list(
        { userId: this.#user, q: `after:${epochSec}`, maxResults: 500, ...(pageToken ? { pageToken } : {}) },
        this.#options,
      );
      for (const m of res.data.messages ?? []) if (m.id) ids.push(m.id);
      pageToken = res.data.nextPageToken ?? undefined;
    } while (pageToken);
    return ids.reverse();
  }

  /** The message, or undefined when it was deleted since it was listed. */
  async get(id: string): Promise<GmailMessage | undefined> {
    try {
      const res = await this.#api.users.messages.get(
        { userId: this.#user, id, format: this.#format },
        this.#options,
      );
      return res.data;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }
}
