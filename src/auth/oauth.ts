import { createHash, randomBytes } from 'node:crypto';
import { errorMessage, RelayError } from '../errors.js';

/** PKCE (RFC 7636): a high-entropy verifier and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export const randomState = (): string => randomBytes(16).toString('base64url');

export interface TokenResponse {
  readonly access_token?: string;
  readonly refresh_token?: string;
  readonly expires_in?: number;
  readonly scope?: string;
  readonly error?: string;
  readonly error_description?: string;
}

/** A form POST to a token endpoint; the JSON answer whatever the status (OAuth errors come as 400 with `error`). */
export async function postForm(
  url: string,
  form: Record<string, string>,
  signal?: AbortSignal,
): Promise<{ status: number; body: TokenResponse & Record<string, unknown> }> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form),
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    throw new RelayError('auth_unreachable', `${new URL(url).origin} unreachable: ${errorMessage(err)}`);
  }
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as TokenResponse & Record<string, unknown> };
  } catch {
    throw new RelayError('auth_bad_reply', `${new URL(url).origin} answered ${res.status} without JSON`);
  }
}

/** An OAuth error as one line: the code and the description's first sentence (Entra appends trace ids). */
export function oauthError(body: TokenResponse, status: number): string {
  const summary = (body.error_description ?? '').split(/\r?\n|Trace ID/)[0]?.trim();
  return `${body.error ?? `HTTP ${status}`}${summary ? ` (${summary})` : ''}`;
}
