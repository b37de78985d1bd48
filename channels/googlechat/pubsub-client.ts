import { errorMessage } from '../../src/errors.js';
import { providerFailure } from '../../src/provider/failure.js';
import type { HeaderSource } from '../../src/provider/retry-after.js';
import type { GoogleChatAccount } from './config.js';
import type { PubSubAuth } from './credentials.js';

/** Pub/Sub sends no Retry-After on RESOURCE_EXHAUSTED as a rule; wait this long then. */
const defaultRetryAfterMs = 10_000;

/**
 * The two REST calls of the pull loop, `:pull` and `:acknowledge`
 * (https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.subscriptions/pull), made with
 * google-auth-library's authorized request, their failures mapped onto the loop errors.
 */
export class PubSubClient {
  readonly #base: string;

  constructor(
    private readonly account: GoogleChatAccount,
    private readonly auth: PubSubAuth,
  ) {
    this.#base = `${account.apiRoot.replace(/\/+$/, '')}/v1/${account.subscription ?? ''}`;
  }

  async call<T>(
    method: 'pull' | 'acknowledge',
    data: object,
    timeout: number,
    signal: AbortSignal,
  ): Promise<T> {
    try {
      const res = await this.auth.request<T>({
        url: `${this.#base}:${method}`,
        method: 'POST',
        data,
        timeout,
        signal,
        responseType: 'json',
      });
      return res.data ?? ({} as T);
    } catch (err) {
      if (signal.aborted) throw err;
      throw this.#failure(method, err);
    }
  }

  /** A failed call as the runner understands it; built from status and Google's error body only. */
  #failure(method: string, err: unknown): Error {
    const { account } = this;
    const response = (err as { response?: { status?: number; data?: unknown; headers?: unknown } }).response;
    if (!response?.status) {
      return new Error(
        `Pub/Sub at ${account.apiRoot} unreachable (${method}) for googleChat account "${account.account}": ${errorMessage(err)}`,
      );
    }
    const body = (response.data ?? {}) as { error?: unknown; error_description?: unknown };
    const google =
      typeof body.error === 'object' && body.error !== null ? (body.error as Record<string, unknown>) : {};
    const status =
      typeof google.status === 'string' ? google.status : typeof body.error === 'string' ? body.error : '';
    const detail = String(google.message ?? body.error_description ?? '').slice(0, 300);
    const what =
      `Pub/Sub ${method} of ${account.subscription ?? ''} for googleChat account "${account.account}" failed: ${response.status} ${status} ${detail}`.trim();
    return providerFailure(
      what,
      {
        status: response.status,
        headers: response.headers as HeaderSource,
        throttled: status === 'RESOURCE_EXHAUSTED',
        refused:
          response.status === 403 ||
          ['PERMISSION_DENIED', 'UNAUTHENTICATED', 'invalid_grant'].includes(status),
      },
      {
        defaultRetryMs: defaultRetryAfterMs,
        credentials:
          'check credentials (the service account needs roles/pubsub.subscriber on the subscription)',
      },
    );
  }
}
