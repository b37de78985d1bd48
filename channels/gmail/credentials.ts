import type { auth } from '@googleapis/gmail';
import { importPKCS8, SignJWT } from 'jose';
import { RelayError } from '../../src/errors.js';
import { lazy } from '../../src/lazy.js';
import type { Logger } from '../../src/log.js';
import { providerFailure, refusedGrants } from '../../src/provider/failure.js';
import type { HeaderSource } from '../../src/provider/retry-after.js';
import type { GmailCredentials } from './config.js';

export const gmailReadonlyScope = 'https://www.googleapis.com/auth/gmail.readonly';

const first = (list: readonly string[]): string => list[0] ?? '';

/** @googleapis/gmail (with its google-auth-library), loaded by the first account that needs it. */
export const gmailSdk = lazy(() => import('@googleapis/gmail'));

/** google-auth-library's OAuth2Client, in the version @googleapis/gmail was built against (it pins its own). */
export type GmailAuth = InstanceType<typeof auth.OAuth2>;

/**
 * One OAuth2Client for every credential kind, so API calls refresh and retry alike. Service
 * accounts sign their own JWT-bearer grant (RFC 7523) in a refresh handler: google-auth-library's
 * JWT client posts to a hard-coded token URL, which would leave `tokenUrl` and the key file's
 * `token_uri` unused.
 * https://developers.google.com/identity/protocols/oauth2/service-account#httprest
 */
export async function gmailAuth(creds: GmailCredentials, account: string, log: Logger): Promise<GmailAuth> {
  const { auth } = await gmailSdk();
  switch (creds.kind) {
    case 'token': {
      const client = new auth.OAuth2();
      client.setCredentials({ access_token: first(creds.accessToken) });
      return client;
    }
    case 'refresh': {
      const client = new auth.OAuth2({
        clientId: creds.clientId,
        clientSecret: first(creds.clientSecret),
        endpoints: { oauth2TokenUrl: creds.tokenUrl },
      });
      let current = first(creds.refreshToken);
      client.setCredentials({ refresh_token: current });
      client.on('tokens', (tokens) => {
        if (!tokens.refresh_token || tokens.refresh_token === current) return;
        current = tokens.refresh_token;
        // Kept in memory for this process; the configured one may stop working once Google revokes it.
        log.warn(
          { account },
          'gmail refresh token rotated by Google: using the new one until restart; run `relay auth google` and update credentials.refreshToken',
        );
      });
      return client;
    }
    case 'serviceAccount': {
      const client = new auth.OAuth2();
      client.refreshHandler = () => serviceAccountToken(creds, account);
      return client;
    }
  }
}

type ServiceAccount = Extract<GmailCredentials, { kind: 'serviceAccount' }>;

async function serviceAccountToken(
  creds: ServiceAccount,
  account: string,
): Promise<{ access_token: string; expiry_date: number }> {
  const nowSec = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ scope: gmailReadonlyScope })
    .setProtectedHeader({
      alg: 'RS256',
      typ: 'JWT',
      ...(creds.privateKeyId ? { kid: creds.privateKeyId } : {}),
    })
    .setIssuer(creds.clientEmail)
    .setSubject(creds.subject)
    .setAudience(creds.tokenUrl)
    .setIssuedAt(nowSec)
    .setExpirationTime(nowSec + 3600)
    .sign(await importPKCS8(first(creds.privateKey), 'RS256'));
  const res = await fetch(creds.tokenUrl, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.ok && typeof body.access_token === 'string') {
    const expiresInSec = typeof body.expires_in === 'number' ? body.expires_in : 3600;
    return { access_token: body.access_token, expiry_date: Date.now() + expiresInSec * 1000 };
  }
  throw gmailError(
    { status: res.status, response: { status: res.status, data: body, headers: res.headers } },
    account,
  );
}

interface HttpFailure {
  readonly status?: number;
  readonly response?: { readonly status?: number; readonly data?: unknown; readonly headers?: unknown };
}

export const statusOf = (err: unknown): number | undefined => {
  const e = err as HttpFailure | undefined;
  return e?.response?.status ?? e?.status;
};

const rateLimitReasons = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded']);

/**
 * Maps an API or token-endpoint failure onto what the supervisor understands: refused credentials
 * (`invalid_grant`, 401, a 403 that is not a rate limit) → CredentialError; 429 and the 403 rate
 * limits → RetryLaterError. https://developers.google.com/workspace/gmail/api/guides/handle-errors
 */
export function gmailError(err: unknown, account: string): unknown {
  if (err instanceof RelayError) return err;
  const status = statusOf(err);
  if (status === undefined) return err;
  const response = (err as HttpFailure).response;
  const data = (response?.data ?? {}) as {
    error?: string | { message?: string; errors?: { reason?: string }[] };
    error_description?: string;
  };
  const oauth = typeof data.error === 'string' ? data.error : undefined;
  const api = typeof data.error === 'object' ? data.error : undefined;
  const reason = api?.errors?.[0]?.reason;
  const detail = oauth
    ? `${oauth}${data.error_description ? `: ${data.error_description}` : ''}`
    : (api?.message ?? '');
  const where = `[gmail] account "${account}"`;
  const throttled =
    status === 429 || (status === 403 && reason !== undefined && rateLimitReasons.has(reason));
  const message = throttled
    ? `${where}: rate limited (${status} ${reason ?? ''})`
    : oauth && refusedGrants.has(oauth)
      ? `${where}: the token endpoint refused the credentials (${detail})`
      : status === 401
        ? `${where}: Gmail refused the access token (401 ${detail})`
        : status === 403
          ? `${where}: Gmail denied access (403 ${reason ?? ''} ${detail}); check the gmail.readonly scope and delegation`
          : `${where}: Gmail answered ${status} ${reason ?? ''} ${detail}`.trimEnd();
  const failure = providerFailure(
    message,
    {
      status,
      headers: response?.headers as HeaderSource,
      oauthError: oauth,
      throttled,
      refused: status === 403,
    },
    { serverBusyIsThrottling: false },
  );
  if (!(failure instanceof RelayError)) return new Error(message, { cause: err });
  return failure;
}
