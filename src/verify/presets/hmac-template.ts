import { createHmac, createSecretKey, type KeyObject, randomUUID, timingSafeEqual } from 'node:crypto';
import { checkTimestamp } from '../timestamp.js';
import type { Preset, PresetCredentials, PresetInput, PresetVerdict } from './types.js';

/**
 * One verifier for every sender whose signature is an HMAC over a template of the request: a row
 * of data says where the signature is, how it is written, what it covers and where the ids are.
 * Everything a row names is compiled once, when the row is built; a request costs the header
 * parsing, one HMAC per secret and constant-time comparisons.
 */

/** How the signature header is written. */
export type SignatureFormat =
  /** One or more signatures, each after `prefix`, separated by `,` or spaces (`sha256=…`, `v1=a,v1=b`). */
  | { readonly kind: 'plain'; readonly prefix?: string }
  /** `key=value` pairs: `t=…,v1=…` (Stripe) or `ts=…;h1=…` (Paddle); every `sig` pair is a candidate. */
  | { readonly kind: 'pairs'; readonly separator: ',' | ';'; readonly sig: string; readonly ts?: string }
  /** Svix: space-separated `v1,<base64>` entries. */
  | { readonly kind: 'versioned'; readonly version: string };

/** Where a value comes from: a header, or a dotted path into the JSON payload (`data.object.id`, `0.eventId`). */
export type ValueSource = { readonly header: string } | { readonly json: string | readonly string[] };

export interface HmacRow {
  readonly name: string;
  readonly doc: string;
  readonly algorithm: 'sha1' | 'sha256' | 'sha512';
  readonly encoding: 'hex' | 'base64';
  /** Header(s) carrying signatures; a match in any of them passes (Box primary/secondary, DocuSign -1…-n). */
  readonly headers: readonly string[];
  readonly format: SignatureFormat;
  /**
   * What is signed: `{body}`, `{timestamp}`, `{id}`, `{url}`, `{method}` and literal text, e.g.
   * `{timestamp}.{body}` or `v0:{timestamp}:{body}`.
   */
  readonly content: string;
  /** `whsec`: secrets are `whsec_<base64>` keys (Svix); default: the secret's UTF-8 bytes. */
  readonly secretFormat?: 'whsec';
  /** The signed timestamp: its header (or the `ts` pair of the signature header), unit and window. */
  readonly timestamp?: {
    readonly header?: string;
    readonly unit: 's' | 'ms' | 'iso';
    readonly toleranceSec: number;
    /** Only old requests are refused (Box): a timestamp in the future passes. */
    readonly pastOnly?: boolean;
  };
  /** HubSpot: `%3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B` in the URL are decoded before signing. */
  readonly urlUnescape?: boolean;
  /** Header of the `{id}` part. */
  readonly idHeader?: string;
  /** A second, signed timestamp in the JSON body that must also be recent (Linear's `webhookTimestamp`, ms). */
  readonly bodyTimestamp?: { readonly json: string; readonly toleranceSec: number };
  readonly key?: ValueSource;
  readonly event?: ValueSource;
}

type Part = { readonly literal: string } | { readonly field: 'body' | 'timestamp' | 'id' | 'url' | 'method' };

const fields = new Set(['body', 'timestamp', 'id', 'url', 'method']);

function compileContent(row: HmacRow): readonly Part[] {
  const parts: Part[] = [];
  for (const piece of row.content.split(/(\{[a-z]+\})/)) {
    if (piece === '') continue;
    const field = piece.startsWith('{') ? piece.slice(1, -1) : undefined;
    if (field === undefined) parts.push({ literal: piece });
    else if (fields.has(field)) parts.push({ field: field as 'body' });
    else throw new Error(`preset ${row.name}: unknown part ${piece} in content`);
  }
  return parts;
}

/** A compiled value source: reads a header or walks a JSON path (several paths are joined with `/`). */
type Reader = (input: PresetInput, payload: unknown) => string | undefined;

function headerValue(input: PresetInput, lowerName: string): string | undefined {
  const value = input.headers[lowerName];
  return Array.isArray(value) ? value[0] : value;
}

function walk(payload: unknown, path: readonly string[]): string | undefined {
  let at: unknown = payload;
  for (const step of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[step];
  }
  return typeof at === 'string' || typeof at === 'number' ? String(at) : undefined;
}

export function compileSource(source: ValueSource | undefined): Reader {
  if (source === undefined) return () => undefined;
  if ('header' in source) {
    const lower = source.header.toLowerCase();
    return (input) => headerValue(input, lower) || undefined;
  }
  const paths = (typeof source.json === 'string' ? [source.json] : source.json).map((p) => p.split('.'));
  return (_input, payload) => {
    const values: string[] = [];
    for (const path of paths) {
      const value = walk(payload, path);
      if (value === undefined || value === '') return undefined;
      values.push(value);
    }
    return values.join('/');
  };
}

/** The candidates and (from `pairs`) the timestamp found in one header value. */
function parseSignatures(format: SignatureFormat, value: string, into: string[]): string | undefined {
  let timestamp: string | undefined;
  if (format.kind === 'pairs') {
    for (const pair of value.split(format.separator)) {
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const key = pair.slice(0, eq).trim();
      if (key === format.sig) into.push(pair.slice(eq + 1).trim());
      else if (key === format.ts) timestamp = pair.slice(eq + 1).trim();
    }
  } else if (format.kind === 'versioned') {
    for (const entry of value.split(' ')) {
      const comma = entry.indexOf(',');
      if (comma > 0 && entry.slice(0, comma) === format.version) into.push(entry.slice(comma + 1));
    }
  } else {
    const prefix = format.prefix ?? '';
    for (const entry of value.split(/[ ,]+/)) {
      if (entry !== '' && entry.startsWith(prefix)) into.push(entry.slice(prefix.length));
    }
  }
  return timestamp;
}

function secondsOf(value: string, unit: 's' | 'ms' | 'iso'): string | undefined {
  if (unit === 's' || (unit === 'iso' && /^\d{1,12}$/.test(value))) return value;
  const ms = unit === 'ms' ? (/^\d{1,15}$/.test(value) ? Number(value) : Number.NaN) : Date.parse(value);
  return Number.isFinite(ms) ? String(Math.round(ms / 1000)) : undefined;
}

/** A bounded cache of HMAC keys by secret, so a request never decodes or imports a key again. */
function keyCache(secretFormat: HmacRow['secretFormat']): (secret: string) => KeyObject {
  const keys = new Map<string, KeyObject>();
  return (secret) => {
    let key = keys.get(secret);
    if (!key) {
      const bytes =
        secretFormat === 'whsec'
          ? Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64')
          : Buffer.from(secret, 'utf8');
      key = createSecretKey(bytes);
      if (keys.size >= 1000) keys.clear();
      keys.set(secret, key);
    }
    return key;
  };
}

const reserved = /%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi;
const unescapeReserved = (url: string) =>
  url.includes('%')
    ? url.replace(reserved, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
    : url;

const missing: PresetVerdict = { ok: false, reason: 'missing' };
const mismatch: PresetVerdict = { ok: false, reason: 'mismatch' };

/** Turns a row into a preset: verify, sign, delivery key and event name. */
export function hmacPreset(row: HmacRow): Preset {
  const parts = compileContent(row);
  const headers = row.headers.map((h) => h.toLowerCase());
  const tsHeader = row.timestamp?.header?.toLowerCase();
  const idHeader = row.idHeader?.toLowerCase();
  const bodyTs = row.bodyTimestamp ? row.bodyTimestamp.json.split('.') : undefined;
  const keyOf = keyCache(row.secretFormat);
  const deliveryKey = compileSource(row.key);
  const eventName = compileSource(row.event);
  if (parts.some((p) => 'field' in p && p.field === 'id') && !idHeader)
    throw new Error(`preset ${row.name}: {id} needs idHeader`);

  const urlOf = row.urlUnescape ? unescapeReserved : (url: string) => url;
  // Text around the body is joined and fed in one update: each update has a fixed cost.
  const digest = (secret: string, input: PresetInput, timestamp: string, id: string) => {
    const mac = createHmac(row.algorithm, keyOf(secret));
    let text = '';
    for (const part of parts) {
      if ('literal' in part) text += part.literal;
      else if (part.field === 'body') {
        if (text !== '') mac.update(text);
        text = '';
        mac.update(input.body);
      } else if (part.field === 'timestamp') text += timestamp;
      else if (part.field === 'id') text += id;
      else if (part.field === 'url') text += urlOf(input.url);
      else text += input.method;
    }
    if (text !== '') mac.update(text);
    return mac.digest(row.encoding);
  };

  const verify = (input: PresetInput, creds: PresetCredentials, nowMs: number): PresetVerdict => {
    const candidates: string[] = [];
    let timestamp: string | undefined;
    for (const name of headers) {
      const value = headerValue(input, name);
      if (value) timestamp = parseSignatures(row.format, value, candidates) ?? timestamp;
    }
    if (candidates.length === 0) return missing;
    if (tsHeader) timestamp = headerValue(input, tsHeader);
    const id = idHeader ? headerValue(input, idHeader) : '';
    if (!id && idHeader) return missing;
    if (row.timestamp) {
      if (!timestamp) return missing;
      const seconds = secondsOf(timestamp, row.timestamp.unit);
      const window = checkTimestamp(seconds, nowMs, row.timestamp.toleranceSec);
      if (!window.ok && !(row.timestamp.pastOnly && (window.skewSec ?? 0) < 0)) {
        return window.reason === 'stale'
          ? { ok: false, reason: 'stale', skewSec: window.skewSec ?? 0 }
          : mismatch;
      }
    }
    let ok = false;
    for (const secret of creds.secrets) {
      const expected = Buffer.from(digest(secret, input, timestamp ?? '', id ?? ''));
      for (const candidate of candidates) {
        const provided = Buffer.from(candidate);
        if (provided.length === expected.length && timingSafeEqual(provided, expected)) ok = true;
      }
    }
    if (!ok) return mismatch;
    if (bodyTs && row.bodyTimestamp)
      return checkBodyTimestamp(input.body, bodyTs, row.bodyTimestamp.toleranceSec, nowMs);
    return { ok: true };
  };

  const sign = (
    creds: PresetCredentials,
    body: Buffer,
    nowMs: number,
    url: string,
  ): Record<string, string> => {
    const secret = creds.secrets[0] ?? '';
    const out: Record<string, string> = {};
    const unit = row.timestamp?.unit;
    const timestamp =
      unit === 'iso'
        ? new Date(nowMs).toISOString()
        : unit === 'ms'
          ? String(nowMs)
          : String(Math.floor(nowMs / 1000));
    const id = idHeader ? randomUUID() : '';
    if (idHeader) out[idHeader] = id;
    if (tsHeader) out[tsHeader] = timestamp;
    const input: PresetInput = {
      method: 'POST',
      url,
      headers: {},
      query: new URLSearchParams(),
      body,
      mediaType: undefined,
    };
    const sig = digest(secret, input, timestamp, id);
    const f = row.format;
    out[headers[0] as string] =
      f.kind === 'pairs'
        ? `${f.ts && !tsHeader ? `${f.ts}=${timestamp}${f.separator}` : ''}${f.sig}=${sig}`
        : f.kind === 'versioned'
          ? `${f.version},${sig}`
          : `${f.prefix ?? ''}${sig}`;
    return out;
  };

  return {
    name: row.name,
    doc: row.doc,
    needs: 'secrets',
    headers: [...row.headers, ...(row.timestamp?.header ? [row.timestamp.header] : [])],
    ...(parts.some((p) => 'field' in p && p.field === 'url') ? { signsUrl: true } : {}),
    verify,
    deliveryKey,
    eventName,
    sign,
  };
}

function checkBodyTimestamp(
  body: Buffer,
  path: readonly string[],
  toleranceSec: number,
  nowMs: number,
): PresetVerdict {
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch {
    return mismatch;
  }
  const seconds = secondsOf(walk(payload, path) ?? '', 'ms');
  const window = checkTimestamp(seconds, nowMs, toleranceSec);
  if (window.ok) return { ok: true };
  return window.reason === 'stale' ? { ok: false, reason: 'stale', skewSec: window.skewSec ?? 0 } : missing;
}
