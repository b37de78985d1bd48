import type { Rejection } from '../rejections.js';
import { type Finding, finding } from './finding.js';
import { groupBy, keyOf, minRepeats, plural } from './groups.js';

/**
 * Bodies changed on the way. Signatures cover the provider's exact bytes, so anything that
 * decodes and re-encodes a body breaks them. The log keeps no body, so the signs are indirect:
 * - bytes that are not UTF-8 where every provider sends UTF-8 JSON (a charset conversion);
 * - a body whose length differs from its Content-Length (rewritten without fixing the header);
 * - Content-Encoding on a request (a proxy compressing request bodies);
 * - a Content-Type the channel never receives (a forwarder rewrote it);
 * - failing signatures on requests that all arrive chunked, without Content-Length, while the
 *   provider sends Content-Length: what a middleware that parses and re-serializes JSON does.
 */
export function reEncodedBodies(records: readonly Rejection[]): Finding[] {
  const out: Finding[] = [];
  for (const [key, group] of groupBy(records, keyOf)) {
    const why = (text: string) => group.filter((r) => r.reason === 'bad_body' && r.detail?.why === text);
    const notUtf8 = why('body is not valid UTF-8');
    if (notUtf8.length > 0)
      out.push(
        finding(
          'problem',
          `rejections ${key}`,
          `${plural(notUtf8.length, 'body')} not valid UTF-8: something on the way converts the charset; pass request bodies through byte for byte`,
        ),
      );
    const sizeMismatch = why('request.size.invalid');
    if (sizeMismatch.length > 0)
      out.push(
        finding(
          'problem',
          `rejections ${key}`,
          `${plural(sizeMismatch.length, 'body')} did not match their Content-Length: a proxy rewrote the body without fixing the header; pass request bodies through unchanged`,
        ),
      );
    const encodings = new Set(
      group
        .filter((r) => r.reason === 'unsupported_media' && r.detail?.encoding)
        .map((r) => String(r.detail?.encoding)),
    );
    if (encodings.size > 0)
      out.push(
        finding(
          'problem',
          `rejections ${key}`,
          `requests arrive with Content-Encoding ${[...encodings].join(', ')}: a proxy compresses request bodies; turn request compression off for this path`,
        ),
      );
    const types = group.filter((r) => r.reason === 'unsupported_media' && r.detail?.type);
    if (types.length >= minRepeats)
      out.push(
        finding(
          'warning',
          `rejections ${key}`,
          `${plural(types.length, 'request')} with Content-Type ${[...new Set(types.map((r) => String(r.detail?.type)))].join(', ')}, which this channel does not take: a forwarder rewrites Content-Type, or the wrong URL was given to another service`,
        ),
      );
    const bad = group.filter((r) => r.reason === 'bad_signature');
    if (
      bad.length >= minRepeats &&
      bad.every((r) => !r.headers.includes('content-length') && r.headers.includes('transfer-encoding'))
    )
      out.push(
        finding(
          'warning',
          `rejections ${key}`,
          `all ${bad.length} requests with bad signatures arrived re-streamed (chunked, no Content-Length), as after a middleware that parses and re-serializes JSON: signatures cover the provider's exact bytes; forward the raw body`,
        ),
      );
  }
  return out;
}

/** Bodies over `server.bodyLimit`: the provider sends more than the relay takes. */
export function oversizedBodies(records: readonly Rejection[]): Finding[] {
  const out: Finding[] = [];
  const large = records.filter((r) => r.reason === 'body_too_large');
  for (const [key, group] of groupBy(large, keyOf)) {
    const limit = group.find((r) => r.detail?.limit !== undefined)?.detail?.limit;
    out.push(
      finding(
        'warning',
        `rejections ${key}`,
        `${plural(group.length, 'body')} over server.bodyLimit${limit === undefined ? '' : ` (${limit} bytes)`}: raise server.bodyLimit if the provider really sends such bodies`,
      ),
    );
  }
  return out;
}
