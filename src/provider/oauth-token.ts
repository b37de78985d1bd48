import { CredentialError, errorMessage } from '../errors.js';
import { providerFailure } from './failure.js';

/** Ask for a new token this long before the cached one expires, so a long round never runs on an expired one. */
const renewBeforeMs = 5 * 60_000;
const requestTimeoutMs = 30_000;

/** A token endpoint's JSON answer (RFC 6749 §5.1 and §5.2). */
export interface TokenAnswer {
  readonly access_token?: unknown;
  readonly refresh_token?: unknown;
  readonly expires_in?: unknown;
  readonly error?: unknown;
  readonly error_description?: unknown;
}

export interface TokenGrant {
  /** The token endpoint. */
  readonly url: string;
  /** The grant's form fields; asked for at every request, since a refresh token may have rotated. */
  form(): Record<string, string>;
  /** Names the call and the account in messages: `[outlook] account "sales"`. Never a secret. */
  readonly where: string;
  /** What to tell the operator when the endpoint refuses the credentials, given its one-line reason. */
  refused(detail: string, answer: TokenAnswer): string;
  /** A new refresh token came back (Microsoft rotates them): use it next. */
  rotated?(refreshToken: string): void;
}

/**
 * An OAuth access token from a client-credentials or refresh-token grant (one form POST), cached
 * until shortly before it expires. Refusals and throttling become the loop errors: 429 (and
 * 503/504 with Retry-After) → RetryLaterError, refused credentials → CredentialError with the
 * grant's advice, anything else → Error (backoff). A secret the endpoint echoes back is cut out of
 * every message, since the log scrubber does not know rotated refresh tokens.
 */
export class OAuthToken {
  #cached: { token: string; renewAt: number } | undefined;

  constructor(private readonly grant: TokenGrant) {}

  /** Drops the cached token: the provider refused it (revoked, rotated), ask again. */
  forget(): void {
    this.#cached = undefined;
  }

  async get(signal: AbortSignal): Promise<string> {
    if (this.#cached && Date.now() < this.#cached.renewAt) return this.#cached.token;
    const answer = await this.#request(signal);
    const token = String(answer.access_token);
    const expiresInMs = (typeof answer.expires_in === 'number' ? answer.expires_in : 3600) * 1000;
    this.#cached = { token, renewAt: Date.now() + Math.max(expiresInMs - renewBeforeMs, expiresInMs / 2) };
    if (typeof answer.refresh_token === 'string') this.grant.rotated?.(answer.refresh_token);
    return token;
  }

  async #request(signal: AbortSignal): Promise<TokenAnswer> {
    const { where } = this.grant;
    const form = this.grant.form();
    let res: Response;
    try {
      res = await fetch(this.grant.url, {
        method: 'POST',
        body: new URLSearchParams(form),
        signal: AbortSignal.any([signal, AbortSignal.timeout(requestTimeoutMs)]),
      });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new Error(`${where}: token endpoint unreachable: ${errorMessage(err)}`);
    }
    const answer = (await res.json().catch(() => ({}))) as TokenAnswer;
    if (res.ok && typeof answer.access_token === 'string' && answer.access_token !== '') return answer;
    if (res.ok) throw new Error(`${where}: token endpoint answered ${res.status} without an access token`);
    // The first line of error_description names the cause (Entra's AADSTS code) and is short.
    const description = typeof answer.error_description === 'string' ? answer.error_description : '';
    let detail = `${typeof answer.error === 'string' ? answer.error : res.status}: ${description.split(/\r?\n/)[0]?.slice(0, 300) ?? ''}`;
    for (const secret of [form.client_secret, form.refresh_token])
      if (secret) detail = detail.split(secret).join('[redacted]');
    const oauthError = typeof answer.error === 'string' ? answer.error : undefined;
    const failure = providerFailure(
      res.status === 429
        ? `${where}: token endpoint throttled (${detail})`
        : `${where}: token endpoint answered ${detail}`,
      {
        status: res.status,
        headers: res.headers,
        oauthError,
        refused: res.status === 400 || res.status === 403,
      },
    );
    throw failure instanceof CredentialError
      ? new CredentialError(this.grant.refused(detail, answer))
      : failure;
  }
}
