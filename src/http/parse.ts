import type { InboundRequest } from '../channel.js';
import { RejectedError } from '../errors.js';

/** Helpers for channels reading a verified request. Every parse failure is a 400 (`bad_body`). */

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

export function parseJson(req: InboundRequest): unknown {
  const text = bodyText(req);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RejectedError('bad_body', { why: 'body is not valid JSON' }, { cause: err });
  }
}

/** A JSON body that must be an object (most providers send one). */
export function parseJsonObject(req: InboundRequest): Record<string, unknown> {
  const value = parseJson(req);
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new RejectedError('bad_body', { why: 'body is not a JSON object' });
  }
  return value as Record<string, unknown>;
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
