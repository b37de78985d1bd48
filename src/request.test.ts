import { describe, expect, it } from 'vitest';
import type { InboundRequest } from './channel.js';
import { RejectedError } from './errors.js';
import { keepsBigIntegers } from './exact-json.js';
import { maxJsonDepth, parseForm, parseJson } from './request.js';

const req = (body: string | Buffer): InboundRequest => ({
  method: 'POST',
  path: '/x',
  query: new URLSearchParams(),
  headers: {},
  body: Buffer.isBuffer(body) ? body : Buffer.from(body),
  mediaType: 'application/json',
  ip: '127.0.0.1',
  receivedAt: 0,
});

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

function reason(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof RejectedError ? err.reason : 'other';
  }
  return undefined;
}

describe('parseJson', () => {
  it('takes nesting up to the bound and refuses deeper as bad_body', () => {
    expect(reason(() => parseJson(req(nested(maxJsonDepth))))).toBeUndefined();
    expect(reason(() => parseJson(req(nested(maxJsonDepth + 1))))).toBe('bad_body');
    expect(reason(() => parseJson(req(nested(20_000))))).toBe('bad_body');
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ a: '['.repeat(5000), b: `"\\"${'{'.repeat(5000)}` });
    expect(parseJson(req(text)).value).toEqual(JSON.parse(text));
  });

  it('returns the exact text only where this runtime rounds a big integer', () => {
    const text = '{"id":820982911946154508,"n":12}';
    expect(parseJson(req(text)).raw).toBe(keepsBigIntegers ? undefined : text);
    expect(parseJson(req('{"id":12}')).raw).toBeUndefined();
  });

  it('refuses malformed JSON and invalid UTF-8 as bad_body', () => {
    expect(reason(() => parseJson(req('{"a":')))).toBe('bad_body');
    expect(reason(() => parseJson(req(Buffer.from([0x7b, 0xff, 0x7d]))))).toBe('bad_body');
  });
});

describe('parseForm', () => {
  it('keeps __proto__ as a plain field and repeats as lists', () => {
    const fields = parseForm(req('__proto__=x&a=1&a=2'));
    expect(Object.getPrototypeOf(fields)).toBeNull();
    expect(Object.getOwnPropertyDescriptor(fields, '__proto__')?.value).toBe('x');
    expect(fields.a).toEqual(['1', '2']);
  });
});
