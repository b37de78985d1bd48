import { type ProbeResult, probeNone, probeOk, probeProblem } from '../../src/channel.js';
import { errorMessage } from '../../src/errors.js';
import type { TeamsAccount } from './config.js';

/** Entra error codes worth a specific fix. https://learn.microsoft.com/entra/identity-platform/reference-error-codes */
const fixes: ReadonlyArray<[RegExp, string]> = [
  [
    /AADSTS7000215|AADSTS7000222/,
    'clientSecret is wrong or expired: create a new client secret (App registrations, Certificates & secrets)',
  ],
  [
    /AADSTS700016/,
    'no app with this clientId in the tenant: check credentials.clientId and credentials.tenantId',
  ],
  [
    /AADSTS90002|AADSTS900023/,
    'tenant not found: check credentials.tenantId (the directory id or a verified domain)',
  ],
];

/**
 * A client-credentials token request for Graph at `credentials.tokenUrl` (default: Microsoft's
 * endpoint for the tenant), the call the subscription loop makes first.
 * https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
 */
export const probeTeams = async (account: TeamsAccount, signal: AbortSignal): Promise<ProbeResult> => {
  const creds = account.credentials;
  if (!creds) return probeNone('no credentials: the relay makes no Graph call for this account');
  if (creds.kind === 'token')
    return probeNone('static accessToken: nothing to exchange; it is used as given until it expires');
  const url = creds.tokenUrl;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: creds.clientId,
        client_secret: creds.clientSecret[0] ?? '',
        scope: 'https://graph.microsoft.com/.default',
      }),
      signal,
    });
  } catch (err) {
    return probeProblem(`token endpoint ${new URL(url).origin} unreachable: ${errorMessage(err)}`);
  }
  const body = (await res.json().catch(() => ({}))) as {
    access_token?: string;
    error?: string;
    error_description?: string;
  };
  if (res.ok && body.access_token) return probeOk(`client credentials accepted by tenant ${creds.tenantId}`);
  const described = `${body.error ?? `HTTP ${res.status}`} ${body.error_description ?? ''}`;
  const fix = fixes.find(([re]) => re.test(described))?.[1];
  // The description's first sentence; Entra appends trace and correlation ids after it.
  const summary = (body.error_description ?? '').split(/\r?\n|Trace ID/)[0]?.trim();
  return probeProblem(
    fix ?? `token request refused: ${body.error ?? `HTTP ${res.status}`}${summary ? ` (${summary})` : ''}`,
  );
};
