import { CredentialError, errorMessage } from '../../src/errors.js';
import { providerFailure } from '../../src/provider/failure.js';
import { OAuthToken } from '../../src/provider/oauth-token.js';
import { nonEmptyString as str } from '../../src/values.js';
import type { TeamsAccount, TeamsCredentials } from './config.js';

/**
 * The few Microsoft Graph calls the subscription loop makes, with an app-only token.
 *
 * Tokens come from the client credentials grant posted with fetch
 * (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow) rather
 * than @azure/msal-node: MSAL takes an authority and discovers the token endpoint from
 * `{authority}/v2.0/.well-known/openid-configuration` plus instance discovery, while the relay's
 * setting is one `tokenUrl` that test doubles serve; and the supervisor needs the endpoint's own
 * status and Retry-After, which MSAL wraps. Failures become what the supervisor understands:
 * 401/403 and refused clients → CredentialError (re-consent needed), 429/503/504 → RetryLaterError
 * with Graph's Retry-After (https://learn.microsoft.com/graph/throttling).
 */
export class GraphNotFoundError extends Error {}

export interface GraphClient {
  /** JSON in, JSON out; a 204 resolves to undefined; a 404 throws GraphNotFoundError. */
  call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<unknown>;
}

const graphScope = 'https://graph.microsoft.com/.default';
const timeoutMs = 30_000;

async function jsonOf(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text().catch(() => '');
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Graph's `{error: {code, message}}`, one line, short. */
function graphReason(body: Record<string, unknown>): string {
  const e = body.error as Record<string, unknown> | undefined;
  const text = [str(e?.code), str(e?.message)].filter(Boolean).join(': ');
  return text.split('\n', 1)[0]?.slice(0, 300) ?? '';
}

export function graphClient(
  account: TeamsAccount,
  credentials: TeamsCredentials,
  signal: AbortSignal,
): GraphClient {
  const who = `teams account "${account.account}"`;
  const oauth =
    credentials.kind === 'token'
      ? undefined
      : new OAuthToken({
          url: credentials.tokenUrl,
          where: `token request for ${who} at ${credentials.tokenUrl}`,
          form: () => ({
            grant_type: 'client_credentials',
            client_id: credentials.clientId,
            client_secret: credentials.clientSecret[0] ?? '',
            scope: graphScope,
          }),
          refused: (detail) =>
            `token request for ${who} at ${credentials.tokenUrl} refused (${detail}); check credentials.tenantId, clientId and clientSecret`,
        });
  const token = (): Promise<string> =>
    oauth
      ? oauth.get(signal)
      : Promise.resolve(credentials.kind === 'token' ? (credentials.accessToken[0] ?? '') : '');

  async function once(method: string, path: string, body: unknown): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${await token()}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(account.graphUrl + path, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new Error(`Graph ${method} ${path} for ${who} unreachable: ${errorMessage(err)}`);
    }
  }

  return {
    async call(method, path, body) {
      let res = await once(method, path, body);
      if (res.status === 401 && oauth) {
        // A cached token Graph no longer takes (revoked, clock skew): one retry with a fresh one.
        oauth.forget();
        await res.body?.cancel();
        res = await once(method, path, body);
      }
      const what = `Graph ${method} ${path} for ${who}`;
      if (res.ok) {
        if (res.status === 204) return undefined;
        const text = await res.text();
        return text === '' ? undefined : (JSON.parse(text) as unknown);
      }
      if (res.status === 429 || res.status === 503 || res.status === 504)
        throw providerFailure(`${what}: ${res.status}, throttled`, {
          status: res.status,
          headers: res.headers,
        });
      const reason = graphReason(await jsonOf(res));
      if (res.status === 404) throw new GraphNotFoundError(`${what}: 404 ${reason}`);
      if (res.status === 401 && credentials.kind === 'token') {
        throw new CredentialError(
          `${what} refused credentials.accessToken (401 ${reason}); it may have expired: put a fresh token in the config`,
        );
      }
      if (res.status === 401 || res.status === 403) {
        throw new CredentialError(
          `${what} refused (${res.status} ${reason}); the app needs the resource's application permission with admin consent (e.g. Chat.Read.All)`,
        );
      }
      throw new Error(`${what} failed: ${res.status} ${reason}`);
    },
  };
}
