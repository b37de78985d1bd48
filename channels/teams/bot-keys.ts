import { type CryptoKey, errors, importJWK, type JWK, type JWTVerifyGetKey } from 'jose';
import { keySetAt } from '../../src/verify/key-sets.js';

/**
 * Bot Framework signing keys: the OpenID metadata document names a `jwks_uri`, whose keys carry an
 * extra `endorsements` list (the channel ids a key may sign for). jose's remote key sets drop that
 * list, so this one keeps it. Same caching as botbuilder-js's OpenIdMetadata: keys live a day, and
 * an unknown `kid` (a rotation) triggers a refetch, at most once a minute so that made-up kids
 * cannot make the relay hammer Microsoft.
 * https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-authentication#connector-to-bot
 */
export const botAlgorithms: readonly string[] = ['RS256', 'RS384', 'RS512'];

const maxAgeMs = 24 * 3600_000;
const missCooldownMs = 60_000;
const timeoutMs = 5000;

interface BotKey {
  readonly jwk: JWK;
  readonly endorsements: readonly string[] | undefined;
  readonly imported: Map<string, CryptoKey>;
}

export interface BotKeySet {
  readonly getKey: JWTVerifyGetKey;
  /** The `endorsements` of the key with this kid; undefined when the key lists none. */
  endorsements(kid: string): readonly string[] | undefined;
}

async function getJson(url: string, fetchImpl: typeof fetch): Promise<unknown> {
  const res = await fetchImpl(url, {
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: 'application/json' },
  });
  if (!res.ok) throw new errors.JWKSInvalid(`${url} answered ${res.status}`);
  return res.json();
}

function parseKeys(jwks: unknown): Map<string, BotKey> {
  const list = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new errors.JWKSInvalid('the key document has no keys array');
  const keys = new Map<string, BotKey>();
  for (const entry of list as Array<Record<string, unknown>>) {
    if (
      entry?.kty !== 'RSA' ||
      typeof entry.kid !== 'string' ||
      typeof entry.n !== 'string' ||
      typeof entry.e !== 'string'
    )
      continue;
    const endorsements = Array.isArray(entry.endorsements)
      ? entry.endorsements.filter((e): e is string => typeof e === 'string')
      : undefined;
    keys.set(entry.kid, { jwk: { kty: 'RSA', n: entry.n, e: entry.e }, endorsements, imported: new Map() });
  }
  return keys;
}

export function openIdKeySet(metadataUrl: string, fetchImpl: typeof fetch = fetch): BotKeySet {
  let keys = new Map<string, BotKey>();
  let fetchedAt = 0;
  let missRefetchAt = 0;
  let inflight: Promise<void> | undefined;

  const refresh = (): Promise<void> => {
    inflight ??= (async () => {
      const metadata = (await getJson(metadataUrl, fetchImpl)) as { jwks_uri?: unknown } | null;
      if (typeof metadata?.jwks_uri !== 'string')
        throw new errors.JWKSInvalid(`${metadataUrl} names no jwks_uri`);
      keys = parseKeys(await getJson(metadata.jwks_uri, fetchImpl));
      fetchedAt = Date.now();
    })().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };

  const getKey: JWTVerifyGetKey = async (header) => {
    if (!botAlgorithms.includes(header.alg ?? ''))
      throw new errors.JOSEAlgNotAllowed('algorithm not allowed');
    const kid = header.kid;
    if (!kid) throw new errors.JWKSNoMatchingKey('token has no kid');
    if (Date.now() - fetchedAt > maxAgeMs) await refresh();
    else if (!keys.has(kid) && Date.now() - missRefetchAt > missCooldownMs) {
      missRefetchAt = Date.now();
      await refresh();
    }
    const key = keys.get(kid);
    if (!key) throw new errors.JWKSNoMatchingKey();
    const alg = header.alg as string;
    let imported = key.imported.get(alg);
    if (!imported) {
      imported = (await importJWK(key.jwk, alg)) as CryptoKey;
      key.imported.set(alg, imported);
    }
    return imported;
  };

  return { getKey, endorsements: (kid) => keys.get(kid)?.endorsements };
}

/** The key set for a metadata URL, shared by every account that names it (src/verify/key-sets.ts). */
export const botKeySet = (metadataUrl: string): BotKeySet => keySetAt(openIdKeySet, metadataUrl);
