import { CredentialError, RetryLaterError } from '../../src/channel.js';
import { errorMessage } from '../../src/errors.js';
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
const defaultRetryMs = 10_000;
const timeoutMs = 30_000;
/** Refresh a cached token this long before Entra ID says it expires. */
const tokenSlackMs = 5 * 60_000;

export function retryAfterMs(headers: Headers, nowMs = Date.now()): number | undefined {
  const raw = headers.get('retry-after');
  if (raw === null || raw === '') return undefined;
  const sec = Number(raw);
  if (Number.isFinite(sec)) return Math.max(0, sec * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

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
  let cached: { token: string; until: number } | undefined;

  const throttled = (what: string, res: Response): RetryLaterError =>
    new RetryLaterError(`${what}: ${res.status}, throttled`, retryAfterMs(res.headers) ?? defaultRetryMs);

  async function token(): Promise<string> {
    if (credentials.kind === 'token') return credentials.accessToken[0] ?? '';
    if (cached && cached.until > Date.now()) return cached.token;
    const what = `token request for ${who} at ${credentials.tokenUrl}`;
    let res: Response;
    try {
      res = await fetch(credentials.tokenUrl, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: credentials.clientId,
          client_secret: credentials.clientSecret[0] ?? '',
          scope: graphScope,
        }),
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new Error(`${what} failed: ${errorMessage(err)}`);
    }
    if (res.status === 429 || res.status === 503 || res.status === 504) throw throttled(what, res);
    const body = await jsonOf(res);
    const access = str(body.access_token);
    if (res.ok && access) {
      const expiresInSec = typeof body.expires_in === 'number' ? body.expires_in : 3600;
      cached = { token: access, until: Date.now() + Math.max(60_000, expiresInSec * 1000 - tokenSlackMs) };
      return access;
    }
    // AADSTS descriptions name the cause (bad secret, unknown app, no admin consent) and hold no secret.
    const reason = [str(body.error), str(body.error_description)?.split(/\r?\n/, 1)[0]?.slice(0, 300)]
      .filter(Boolean)
      .join(': ');
    const refused = new Set(['invalid_client', 'unauthorized_client', 'invalid_grant', 'invalid_scope']);
    if (res.status === 401 || refused.has(str(body.error) ?? '')) {
      throw new CredentialError(
        `${what} refused (${res.status}${reason ? ` ${reason}` : ''}); check credentials.tenantId, clientId and clientSecret`,
      );
    }
    throw new Error(`${what} failed: ${res.status}${reason ? ` ${reason}` : ''}`);
  }

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
      if (res.status === 401 && credentials.kind === 'client' && cached) {
        // A cached token Graph no longer takes (revoked, clock skew): one retry with a fresh one.
        cached = undefined;
        await res.body?.cancel();
        res = await once(method, path, body);
      }
      const what = `Graph ${method} ${path} for ${who}`;
      if (res.ok) {
        if (res.status === 204) return undefined;
        const text = await res.text();
        return text === '' ? undefined : (JSON.parse(text) as unknown);
      }
      if (res.status === 429 || res.status === 503 || res.status === 504) throw throttled(what, res);
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
