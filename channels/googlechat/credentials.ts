import { readFile } from 'node:fs/promises';
import type { OAuth2Client } from 'google-auth-library';
import { CredentialError, errorMessage } from '../../src/errors.js';
import { lazy } from '../../src/lazy.js';
import type { GoogleChatAccount } from './config.js';

/** Pull and acknowledge need `pubsub.subscriptions.consume` (role Pub/Sub Subscriber). */
export const pubsubScope = 'https://www.googleapis.com/auth/pubsub';

/** The token endpoint google-auth-library's JWT client (gtoken) always posts to. */
const googleTokenUrl = 'https://oauth2.googleapis.com/token';

const googleAuthLibrary = lazy(() => import('google-auth-library'));

/** What the Pub/Sub loop needs from a credential: google-auth-library's authorized request. */
export type PubSubAuth = Pick<OAuth2Client, 'request'>;

interface ServiceAccountKey {
  readonly client_email: string;
  readonly private_key: string;
  readonly token_uri?: string;
}

function parseKey(text: string, file: string, account: string): ServiceAccountKey {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CredentialError(
      `googleChat account "${account}": service account file ${file} is not JSON; download a key (JSON) for the service account`,
    );
  }
  const key = json as Partial<Record<keyof ServiceAccountKey, unknown>> | null;
  if (
    !key ||
    typeof key.client_email !== 'string' ||
    typeof key.private_key !== 'string' ||
    (key.token_uri !== undefined && typeof key.token_uri !== 'string')
  ) {
    throw new CredentialError(
      `googleChat account "${account}": service account file ${file} has no client_email and private_key; it must be a service account key, not an OAuth client file`,
    );
  }
  return key as ServiceAccountKey;
}

/**
 * The credential of an account's Pub/Sub pull: a service account key file (google-auth-library
 * `JWT`, scope pubsub, tokens refreshed by the library) or a static `accessToken` (an
 * `OAuth2Client` holding just that token, so both go through the same authorized request).
 */
export async function pubsubAuth(account: GoogleChatAccount): Promise<PubSubAuth> {
  const credentials = account.credentials;
  const token = credentials?.accessToken?.[0];
  if (token !== undefined) {
    const { OAuth2Client } = await googleAuthLibrary();
    const client = new OAuth2Client();
    client.setCredentials({ access_token: token });
    return client;
  }
  const file = credentials?.serviceAccountFile;
  if (file === undefined) {
    throw new CredentialError(
      `googleChat account "${account.account}" sets subscription but no credentials: add credentials.serviceAccountFile (or accessToken)`,
    );
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CredentialError(
      `googleChat account "${account.account}": cannot read service account file ${file} (${errorMessage(err)}); check credentials.serviceAccountFile`,
    );
  }
  const key = parseKey(text, file, account.account);
  const { JWT } = await googleAuthLibrary();
  const client = new JWT({ email: key.client_email, key: key.private_key, scopes: [pubsubScope] });
  const tokenUri = key.token_uri;
  if (tokenUri !== undefined && tokenUri !== googleTokenUrl) {
    // google-auth-library 10 (gtoken) ignores the key file's token_uri and always posts to
    // oauth2.googleapis.com. The key's own token_uri is honoured here, as Google's other client
    // libraries do: it is how a test double (or a private endpoint) serves the token exchange.
    client.transporter.interceptors.request.add({
      resolved: async (options) =>
        String(options.url) === googleTokenUrl ? { ...options, url: new URL(tokenUri) } : options,
    });
  }
  return client;
}
