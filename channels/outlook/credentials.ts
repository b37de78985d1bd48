import { CredentialError, RetryLaterError } from '../../src/channel.js';
import type { OutlookCredentials } from './config.js';

const requestTimeoutMs = 30_000;
/** Renew this long before the token expires, so a long delta round never runs on an expired one. */
const renewBeforeMs = 5 * 60_000;

type Renewable = Exclude<OutlookCredentials, { kind: 'token' }>;

interface TokenBody {
  readonly access_token?: string;
  readonly refresh_token?: string;
  readonly expires_in?: number;
  readonly error?: string;
  readonly error_description?: string;
}

/** Retry-After in ms (seconds or an HTTP date). */
export function retryAfterMs(value: string | null, nowMs = Date.now()): number | undefined {
  if (!value) return undefined;
  const sec = Number(value);
  if (Number.isFinite(sec)) return Math.max(0, sec * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * The delegated scope `relay auth microsoft` consents to (src/auth/microsoft.ts `mailReadScope`),
 * on the Graph host the account reads (national clouds have their own).
 */
export const delegatedScope = (graphUrl: string): string =>
  `${new URL(graphUrl).origin}/Mail.Read offline_access`;

/** What to grant when Graph refuses the mailbox, by who the token speaks for. */
export function accessHint(creds: OutlookCredentials): string {
  return creds.kind === 'delegated'
    ? 'the signed-in user (relay auth microsoft) must own the mailbox, or have access to a shared one with Mail.Read.Shared consented'
    : 'grant the app the Mail.Read application permission with admin consent, and check application access policies';
}

/**
 * Graph tokens, cached until shortly before they expire: app-only by the OAuth 2.0 client
 * credentials grant, or delegated by the refresh token grant. Called with fetch rather than
 * @azure/msal-node: MSAL refuses an authority that is not https (`authority_uri_insecure`) and
 * fetches instance and OpenID metadata before the grant, so it cannot be pointed at a local test
 * double; each grant is one form POST.
 * https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#get-a-token
 * https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token
 */
export class GraphToken {
  #cached: { token: string; renewAt: number } | undefined;
  /**
   * Microsoft returns a new refresh token with every use: the newest is redeemed next. It lives in
   * memory only; the configured one stays valid for the next start until it expires.
   */
  #refreshToken: string | undefined;

  constructor(
    private readonly creds: OutlookCredentials,
    private readonly graphUrl: string,
    private readonly account: string,
  ) {}

  /** Whether a refused token can be replaced by asking again. */
  get renewable(): boolean {
    return this.creds.kind !== 'token';
  }

  forget(): void {
    this.#cached = undefined;
  }

  async get(signal: AbortSignal): Promise<string> {
    const creds = this.creds;
    if (creds.kind === 'token') return creds.accessToken[0] ?? '';
    if (this.#cached && Date.now() < this.#cached.renewAt) return this.#cached.token;
    const body = await this.#request(creds, signal);
    if (creds.kind === 'delegated' && body.refresh_token) this.#refreshToken = body.refresh_token;
    const token = body.access_token ?? '';
    const expiresInMs = (body.expires_in ?? 3599) * 1000;
    this.#cached = { token, renewAt: Date.now() + Math.max(expiresInMs - renewBeforeMs, expiresInMs / 2) };
    return token;
  }

  #form(creds: Renewable): Record<string, string> {
    const graph = new URL(this.graphUrl).origin;
    if (creds.kind === 'client')
      return {
        client_id: creds.clientId,
        client_secret: creds.clientSecret[0] ?? '',
        // The app's application permissions on this Graph resource.
        scope: `${graph}/.default`,
        grant_type: 'client_credentials',
      };
    const clientSecret = creds.clientSecret?.[0];
    return {
      client_id: creds.clientId,
      grant_type: 'refresh_token',
      refresh_token: this.#refreshToken ?? creds.refreshToken[0] ?? '',
      scope: delegatedScope(this.graphUrl),
      ...(clientSecret ? { client_secret: clientSecret } : {}),
    };
  }

  /** The token POST for either grant, its refusals mapped onto what the supervisor understands. */
  async #request(creds: Renewable, signal: AbortSignal): Promise<TokenBody> {
    const form = this.#form(creds);
    const res = await fetch(`${creds.authorityUrl}/${encodeURIComponent(creds.tenantId)}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams(form),
      signal: AbortSignal.any([signal, AbortSignal.timeout(requestTimeoutMs)]),
    });
    const body = (await res.json().catch(() => ({}))) as TokenBody;
    if (res.ok && body.access_token) return body;
    // The first line of error_description carries the AADSTS code; should the endpoint ever echo a
    // secret back, it is cut out here (the log scrubber does not know rotated refresh tokens).
    let detail = `${body.error ?? res.status}: ${body.error_description?.split(/\r?\n/)[0] ?? ''}`;
    for (const secret of [form.client_secret, form.refresh_token])
      if (secret) detail = detail.split(secret).join('[redacted]');
    const where = `[outlook] account "${this.account}"`;
    if (res.status === 429)
      throw new RetryLaterError(
        `${where}: token endpoint throttled (${detail})`,
        retryAfterMs(res.headers.get('retry-after')) ?? 10_000,
      );
    if (res.ok) throw new Error(`${where}: token endpoint answered ${res.status} without an access token`);
    if (res.status >= 500) throw new Error(`${where}: token endpoint answered ${detail}`);
    if (creds.kind === 'client')
      throw new CredentialError(`${where}: the token endpoint refused the client credentials (${detail})`);
    throw new CredentialError(
      body.error === 'invalid_client'
        ? `${where}: the token endpoint refused the client (${detail}); check clientSecret (a public client, as relay auth microsoft signs in with, has none: leave it out)`
        : `${where}: the token endpoint refused the refresh token (${detail}); re-consent needed: run relay auth microsoft --tenant ${creds.tenantId} --client-id ${creds.clientId} and update refreshToken`,
    );
  }
}
