import type { InboundRequest } from './channel.js';
import { RejectedError } from './errors.js';
import { parseExactJson, scanJson } from './exact-json.js';

/**
 * Helpers for channels reading a verified request: pure functions of the request, so channels use
 * them without depending on the HTTP layer. Every parse failure is a 400 (`bad_body`).
 */

export function header(req: InboundRequest, lowerName: string): string | undefined {
  const value = req.headers[lowerName];
  return Array.isArray(value) ? value[0] : value;
}

export function isJson(mediaType: string | undefined): boolean {
  return (
    mediaType === 'application/json' ||
    (mediaType?.startsWith('application/') === true && mediaType.endsWith('+json'))
  );
}

export const isForm = (mediaType: string | undefined): boolean =>
  mediaType === 'application/x-www-form-urlencoded';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function bodyText(req: InboundRequest): string {
  try {
    return utf8.decode(req.body);
  } catch (err) {
    throw new RejectedError('bad_body', { why: 'body is not valid UTF-8' }, { cause: err });
  }
}

/**
 * Deeper than this is refused as unparseable: JSON.parse takes any depth, but serializing the
 * envelope later overflows the stack past ~10,000 levels, and no provider nests that deep.
 */
export const maxJsonDepth = 1000;

/**
 * A parsed JSON value, and `raw`: the exact text when it holds an integer this runtime had to round
 * (src/exact-json.ts). A route hands `raw` on (`Received.raw`); the ingress puts it in `data.raw`.
 */
export interface ParsedJson<T = unknown> {
  readonly value: T;
  readonly raw: string | undefined;
}

/** JSON text (a body, or a field of one), big integers kept exact where the runtime can. */
export function parseJsonText(text: string, what = 'body'): ParsedJson {
  if (scanJson(text, false).depth > maxJsonDepth) {
    throw new RejectedError('bad_body', { why: `JSON nested deeper than ${maxJsonDepth} levels` });
  }
  try {
    const { value, inexact } = parseExactJson(text);
    return { value, raw: inexact ? text : undefined };
  } catch (err) {
    throw new RejectedError('bad_body', { why: `${what} is not valid JSON` }, { cause: err });
  }
}

export function parseJson(req: InboundRequest): ParsedJson {
  return parseJsonText(bodyText(req));
}

/** A JSON body that must be an object (most providers send one). */
export function parseJsonObject(req: InboundRequest): ParsedJson<Record<string, unknown>> {
  const parsed = parseJson(req);
  const { value } = parsed;
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new RejectedError('bad_body', { why: 'body is not a JSON object' });
  }
  return parsed as ParsedJson<Record<string, unknown>>;
}

/** Form fields; a repeated field becomes a list. No prototype: `__proto__` is just a field name. */
export function parseForm(req: InboundRequest): Record<string, string | string[]> {
  const fields: Record<string, string | string[]> = Object.create(null);
  for (const [key, value] of new URLSearchParams(bodyText(req))) {
    const prior = fields[key];
    fields[key] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  return fields;
}
