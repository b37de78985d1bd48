import { OAuthToken } from '../../src/provider/oauth-token.js';
import type { OutlookCredentials } from './config.js';

type Renewable = Exclude<OutlookCredentials, { kind: 'token' }>;

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
  readonly #token: OAuthToken | undefined;
  /**
   * Microsoft returns a new refresh token with every use: the newest is redeemed next. It lives in
   * memory only; the configured one stays valid for the next start until it expires.
   */
  #refreshToken: string | undefined;

  constructor(
    private readonly creds: OutlookCredentials,
    private readonly graphUrl: string,
    account: string,
  ) {
    if (creds.kind === 'token') return;
    const where = `[outlook] account "${account}"`;
    this.#token = new OAuthToken({
      url: `${creds.authorityUrl}/${encodeURIComponent(creds.tenantId)}/oauth2/v2.0/token`,
      where,
      form: () => this.#form(creds),
      rotated: (token) => {
        if (creds.kind === 'delegated') this.#refreshToken = token;
      },
      refused: (detail, answer) => {
        if (creds.kind === 'client')
          return `${where}: the token endpoint refused the client credentials (${detail})`;
        return answer.error === 'invalid_client'
          ? `${where}: the token endpoint refused the client (${detail}); check clientSecret (a public client, as relay auth microsoft signs in with, has none: leave it out)`
          : `${where}: the token endpoint refused the refresh token (${detail}); re-consent needed: run relay auth microsoft --tenant ${creds.tenantId} --client-id ${creds.clientId} and update refreshToken`;
      },
    });
  }

  /** Whether a refused token can be replaced by asking again. */
  get renewable(): boolean {
    return this.#token !== undefined;
  }

  forget(): void {
    this.#token?.forget();
  }

  get(signal: AbortSignal): Promise<string> {
    if (this.creds.kind === 'token') return Promise.resolve(this.creds.accessToken[0] ?? '');
    return (this.#token as OAuthToken).get(signal);
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
}
