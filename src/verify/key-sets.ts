/**
 * The one memo of remote signing keys (JWKS, Google's x509 map, Bot Framework's OpenID keys): one key
 * set per kind and URL for the whole process, shared by every account that names the URL, so keys
 * are fetched once and each set's own refetch rules (unknown `kid`, cooldown, maximum age) hold
 * across accounts and requests.
 */
const memo = new Map<(url: string) => unknown, Map<string, unknown>>();

/** The key set `make` builds for `url`, built on first use. */
export function keySetAt<K>(make: (url: string) => K, url: string): K {
  let byUrl = memo.get(make);
  if (!byUrl) {
    byUrl = new Map();
    memo.set(make, byUrl);
  }
  let keys = byUrl.get(url) as K | undefined;
  if (keys === undefined) {
    keys = make(url);
    byUrl.set(url, keys);
  }
  return keys;
}
