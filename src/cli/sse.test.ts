import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.js';

const bytes = (text: string) => new TextEncoder().encode(text);

/** Feeds `text` split at every position given, and returns what the parser dispatched. */
function parse(text: string, cuts: number[] = []) {
  const parser = new SseParser();
  const out = [];
  let from = 0;
  for (const cut of [...cuts, text.length]) {
    out.push(...parser.push(bytes(text.slice(from, cut))));
    from = cut;
  }
  return { out, parser };
}

describe('SseParser', () => {
  it('dispatches on a blank line; joins data lines; keeps the last id; reads retry', () => {
    const { out, parser } = parse(
      'retry: 2000\nid: a@1-0\n\n: keep-alive\n\nid: a@2-0\ndata: {"x":\ndata: 1}\n\n',
    );
    expect(out).toEqual([
      { event: 'message', data: undefined, lastEventId: 'a@1-0' },
      { event: 'message', data: '{"x":\n1}', lastEventId: 'a@2-0' },
    ]);
    expect(parser.retryMs).toBe(2000);
  });

  it('takes CRLF, CR and LF line ends, also when a chunk ends between CR and LF', () => {
    const text = 'event: gap\r\ndata: one\r\rdata: two\n\ndata:three\r\n\r\n';
    const expected = [
      { event: 'gap', data: 'one', lastEventId: '' },
      { event: 'message', data: 'two', lastEventId: '' },
      { event: 'message', data: 'three', lastEventId: '' },
    ];
    expect(parse(text).out).toEqual(expected);
    for (let cut = 1; cut < text.length; cut += 1) expect(parse(text, [cut]).out).toEqual(expected);
  });

  it('strips one leading BOM, decodes UTF-8 split across chunks, and ignores ids with NUL and unknown fields', () => {
    const text = '\uFEFFid: x\nfoo: bar\ndata: é😀\n\nid: bad\0id\ndata: next\n\n';
    const encoded = bytes(text);
    const parser = new SseParser();
    const out = [];
    for (const byte of encoded) out.push(...parser.push(Uint8Array.of(byte)));
    expect(out).toEqual([
      { event: 'message', data: 'é😀', lastEventId: 'x' },
      { event: 'message', data: 'next', lastEventId: 'x' },
    ]);
  });

  it('a message of comments only dispatches nothing; an empty data line dispatches an empty string', () => {
    expect(parse(': a\n: b\n\n').out).toEqual([]);
    expect(parse('data:\n\n').out).toEqual([{ event: 'message', data: '', lastEventId: '' }]);
  });
});
