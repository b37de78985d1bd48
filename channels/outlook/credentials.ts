import { CredentialError, RetryLaterError } from '../../src/channel.js';
import type { OutlookCredentials } from './config.js';

const requestTimeoutMs = 30_000;
/** Renew this long before the token expires, so a long delta round never runs on an expired one. */
const renewBeforeMs = 5 * 60_000;

/** Retry-After in ms (seconds or an HTTP date). */
export function retryAfterMs(value: string | null, nowMs = Date.now()): number | undefined {
  if (!value) return undefined;
  const sec = Number(value);
  if (Number.isFinite(sec)) return Math.max(0, sec * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * App-only Graph tokens by the OAuth 2.0 client credentials grant, cached until shortly before
 * they expire. Called with fetch rather than @azure/msal-node: MSAL refuses an authority that is not
 * https (`authority_uri_insecure`) and fetches instance and OpenID metadata before the grant, so it
 * cannot be pointed at a local test double; the grant itself is one form POST.
 * https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#get-a-token
 */
export class GraphToken {
  #cached: { token: string; renewAt: number } | undefined;

  constructor(
    private readonly creds: OutlookCredentials,
    private readonly graphUrl: string,
    private readonly account: string,
  ) {}

  /** Whether a refused token can be replaced by asking again. */
  get renewable(): boolean {
    return this.creds.kind === 'client';
  }

  forget(): void {
    this.#cached = undefined;
  }

  async get(signal: AbortSignal): Promise<string> {
    const creds = this.creds;
    if (creds.kind === 'token') return creds.accessToken[0] ?? '';
    if (this.#cached && Date.now() < this.#cached.renewAt) return this.#cached.token;
    const res = await fetch(`${creds.authorityUrl}/${encodeURIComponent(creds.tenantId)}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({
        client_id: creds.clientId,
        client_secret: creds.clientSecret[0] ?? '',
        // The app's application permissions on this Graph resource (national clouds have their own host).
        scope: `${new URL(this.graphUrl).origin}/.default`,
        grant_type: 'client_credentials',
      }),
      signal: AbortSignal.any([signal, AbortSignal.timeout(requestTimeoutMs)]),
    });
    const body = (await res.json().catch(() => ({}))) as {
      access_token?: string;
      expires_in?: number;
      error?: string;
      error_description?: string;
    };
    if (res.ok && body.access_token) {
      const expiresInMs = (body.expires_in ?? 3599) * 1000;
      this.#cached = {
        token: body.access_token,
        renewAt: Date.now() + Math.max(expiresInMs - renewBeforeMs, expiresInMs / 2),
      };
      return body.access_token;
    }
    // The first line of error_description carries the AADSTS code, never the secret.
    const detail = `${body.error ?? res.status}: ${body.error_description?.split(/\r?\n/)[0] ?? ''}`;
    const where = `[outlook] account "${this.account}"`;
    if (res.status === 429)
      throw new RetryLaterError(
        `${where}: token endpoint throttled (${detail})`,
        retryAfterMs(res.headers.get('retry-after')) ?? 10_000,
      );
    if (res.status >= 500) throw new Error(`${where}: token endpoint answered ${detail}`);
    throw new CredentialError(`${where}: the token endpoint refused the client credentials (${detail})`);
  }
}
