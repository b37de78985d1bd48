import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Twilio's request signature (https://www.twilio.com/docs/usage/webhooks/webhooks-security), as
 * twilio-node's `getExpectedTwilioSignature` and `validateRequest` compute it
 * (node_modules/twilio/lib/webhooks/webhooks.js):
 *   X-Twilio-Signature = base64 HMAC(token, url + for each name in sorted order: name + value…)
 * where a repeated name contributes each distinct value, sorted, and HMAC is SHA-1 unless a SharedKey
 * webhook's `X-Twilio-Webhooks-Signature-Settings: key=…,algorithm=HMAC_SHA256` names SHA-256.
 * A JSON body is not signed itself: the URL carries `bodySHA256` (hex SHA-256 of the body) and only
 * the URL is signed. The URL is tried as received, without its port and with the scheme's default port,
 * since Twilio may sign either.
 */
export type TwilioParams = ReadonlyMap<string, readonly string[]>;

/** Form fields by name, every value kept (as the sender's express `urlencoded` parser reads them). */
export function twilioParams(form: string): TwilioParams {
  const params = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(form)) {
    const values = params.get(name);
    if (values) values.push(value);
    else params.set(name, [value]);
  }
  return params;
}

/** What Twilio signs after the URL: every name followed by its value, names and values sorted. */
export function twilioParamText(params: TwilioParams): string {
  let text = '';
  for (const name of [...params.keys()].sort()) {
    for (const value of [...new Set(params.get(name))].sort()) text += name + value;
  }
  return text;
}

const hmacOf = (algorithm: 'sha1' | 'sha256', token: string, url: string, paramText: string) =>
  createHmac(algorithm, token).update(url, 'utf8').update(paramText, 'utf8').digest('base64');

/** `sha1` or `sha256` from the SharedKey settings header (absent: the auth token's SHA-1); undefined when unknown. */
export function twilioAlgorithm(settings: string | undefined): 'sha1' | 'sha256' | undefined {
  for (const part of (settings ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== 'algorithm') continue;
    const name = part
      .slice(eq + 1)
      .trim()
      .toUpperCase();
    if (name === '') break;
    return name === 'HMAC_SHA1' ? 'sha1' : name === 'HMAC_SHA256' ? 'sha256' : undefined;
  }
  return 'sha1';
}

export function signTwilio(
  token: string,
  url: string,
  params: TwilioParams,
  algorithm: 'sha1' | 'sha256' = 'sha1',
): string {
  return hmacOf(algorithm, token, url, twilioParamText(params));
}

/** The hex SHA-256 a JSON request's URL carries as `bodySHA256`. */
export function twilioBodyHash(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

const urlParts = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/is;

/** The URL without its port and with the scheme's default port, as twilio-node's removePort/addPort. */
export function twilioUrlVariants(url: string): readonly string[] {
  const match = urlParts.exec(url);
  if (!match) return [url];
  const [, scheme = '', authority = '', rest = ''] = match;
  const userInfo = authority.slice(0, authority.lastIndexOf('@') + 1);
  const hostPort = authority.slice(userInfo.length);
  // A colon starts the port only after an IPv6 literal's closing bracket.
  const portAt = hostPort.indexOf(':', hostPort.lastIndexOf(']') + 1);
  const host = userInfo + (portAt < 0 ? hostPort : hostPort.slice(0, portAt));
  const port = portAt < 0 ? (scheme.toLowerCase() === 'https://' ? ':443' : ':80') : hostPort.slice(portAt);
  return [scheme + host + rest, scheme + host + port + rest];
}

/** True when `signature` matches any URL variant under any token; every candidate is computed. */
export function verifyTwilio(
  signature: string,
  url: string,
  params: TwilioParams,
  tokens: readonly string[],
  algorithm: 'sha1' | 'sha256',
): boolean {
  const provided = Buffer.from(signature);
  const paramText = twilioParamText(params);
  let ok = false;
  for (const token of tokens) {
    for (const variant of twilioUrlVariants(url)) {
      const expected = Buffer.from(hmacOf(algorithm, token, variant, paramText));
      if (expected.length === provided.length && timingSafeEqual(expected, provided)) ok = true;
    }
  }
  return ok;
}
