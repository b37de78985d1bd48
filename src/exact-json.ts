/**
 * JSON that keeps a provider's big integers exact (contract section 4). `JSON.parse` rounds an
 * integer beyond 2^53 (`820982911946154508` becomes `820982911946154500`). Where the runtime gives
 * a reviver the source text and has `JSON.rawJSON` (Node 22 and later), such a number is parsed into
 * a raw JSON value that `JSON.stringify` (BullMQ's, the journal's) writes back digit for digit.
 * Elsewhere the parse is the best the runtime can do and says so (`inexact`): the caller then keeps
 * the exact text beside it (`data.raw`). Only integers that would be rounded become raw values, so
 * every other number stays a plain `number`.
 */

interface RawJsonApi {
  rawJSON(text: string): object;
  isRawJSON(value: unknown): boolean;
}
type SourceReviver = (key: string, value: unknown, context?: { source?: string }) => unknown;

const api = JSON as unknown as Partial<RawJsonApi>;

/** Feature test, never a version test: source text in revivers, and raw JSON that stringify writes as is. */
function detectExactNumbers(): RawJsonApi | undefined {
  if (typeof api.rawJSON !== 'function' || typeof api.isRawJSON !== 'function') return undefined;
  let source: string | undefined;
  const probe: SourceReviver = (_key, value, context) => {
    source = context?.source;
    return value;
  };
  JSON.parse('12', probe as Parameters<typeof JSON.parse>[1]);
  const big = '12345678901234567890';
  if (source !== '12' || JSON.stringify([api.rawJSON(big)]) !== `[${big}]`) return undefined;
  return api as RawJsonApi;
}

const exactApi = detectExactNumbers();

/** True where parsed big integers are written back exactly (Node 22+); false where `data.raw` is needed. */
export const keepsBigIntegers: boolean = exactApi !== undefined;

/** 2^53 has 16 digits: a shorter integer is always exact. */
const bigIntegerRun = /\d{16}/;

/** An integer literal that `Number` would round (or turn into exponent form). */
const isInexactInteger = (token: string): boolean =>
  /^-?\d{16,}$/.test(token) && String(Number(token)) !== token;

/**
 * One pass over JSON text, strings skipped: the deepest `{`/`[` nesting, and, when `numbers` is set,
 * whether it holds an integer `JSON.parse` would round (the pass then stops at the first such one).
 */
export function scanJson(
  text: string,
  numbers: boolean,
): { readonly depth: number; readonly inexact: boolean } {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (numbers && (c === 0x2d || (c >= 0x30 && c <= 0x39))) {
      let end = i + 1;
      while (end < text.length && /[0-9.eE+-]/.test(text[end] as string)) end++;
      if (isInexactInteger(text.slice(i, end))) return { depth: max, inexact: true };
      i = end - 1;
    }
  }
  return { depth: max, inexact: false };
}

/**
 * Whether the JSON text holds an integer `JSON.parse` would round. One regex test for the common case
 * (no run of 16 digits anywhere), then one pass over tokens outside strings.
 */
export const hasInexactInteger = (text: string): boolean =>
  bigIntegerRun.test(text) && scanJson(text, true).inexact;

const keepBigIntegers: SourceReviver = (_key, value, context) =>
  typeof value === 'number' && context?.source !== undefined && isInexactInteger(context.source)
    ? (exactApi as RawJsonApi).rawJSON(context.source)
    : value;

export interface ParsedJson {
  readonly value: unknown;
  /** The text holds an integer this runtime could not keep exact: keep the text itself too. */
  readonly inexact: boolean;
}

/** `JSON.parse` (throws the same errors) that keeps big integers exact where the runtime can. */
export function parseExactJson(text: string): ParsedJson {
  if (!hasInexactInteger(text)) return { value: JSON.parse(text), inexact: false };
  if (exactApi) {
    return { value: JSON.parse(text, keepBigIntegers as Parameters<typeof JSON.parse>[1]), inexact: false };
  }
  return { value: JSON.parse(text), inexact: true };
}

/**
 * A provider id or number as text: a number, a non-empty string, or a raw JSON big integer (its
 * exact digits). Channel code reads numeric ids through this, so a big one still works.
 */
export function numberText(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (exactApi?.isRawJSON(value)) return (value as { rawJSON: string }).rawJSON;
  return undefined;
}
