import type { ProofInfo } from '../channel.js';
import type { Rejection } from '../rejections.js';
import { oversizedBodies, reEncodedBodies } from './bodies.js';
import { type Finding, finding } from './finding.js';
import { groupBy, keyOf, minRepeats, plural, span } from './groups.js';
import { isUnconfigured, unconfiguredRoutes } from './unconfigured.js';

/*
 * Plain-language diagnoses over the rejection log. Pure functions of the records and what the
 * config and the queue say, so each is tested on constructed records. Each looks for a pattern
 * that one cause explains, not for single failures: scanners and mistakes send odd requests all
 * the time, so a pattern needs `minRepeats` requests.
 */

/** How an account authenticates requests (the channel's own `proofOf`): the headers that carry the proof and the config field holding the secret. */
export type AuthInfo = ProofInfo;

export interface PatternContext {
  /** Configured account ids per channel name (generic triggers: `group/trigger`). */
  readonly accounts: ReadonlyMap<string, readonly string[]>;
  /** Undefined when the account takes unauthenticated requests or is unknown. */
  auth(channel: string, account: string, path: string): AuthInfo | undefined;
  /** When the last event of `channel/account` was accepted (ISO), from the queue's recent jobs. */
  readonly lastAccepted: ReadonlyMap<string, string>;
}

/** A signature header that never arrives: something in front of the relay drops it. */
export function strippedHeaders(records: readonly Rejection[], ctx: PatternContext): Finding[] {
  const out: Finding[] = [];
  // A route the account does not take refuses every request, signed or not: not a stripped header.
  const missing = records.filter((r) => r.reason === 'missing_signature' && !isUnconfigured(r));
  for (const [key, group] of groupBy(missing, keyOf)) {
    if (group.length < minRepeats) continue;
    const sample = group[0] as Rejection;
    const auth = ctx.auth(sample.channel, sample.account, sample.path);
    if (!auth || auth.headers.length === 0) continue;
    const absent = auth.headers.filter((h) => group.every((r) => !r.headers.includes(h.toLowerCase())));
    if (absent.length === 0) continue;
    const names = absent.join(' and ');
    const alt = auth.alternative ? ` (nor ${auth.alternative})` : '';
    const { first, last } = span(group);
    const accepted = ctx.lastAccepted.get(key);
    if (accepted !== undefined && accepted > last) {
      out.push(
        finding(
          'warning',
          `rejections ${key}`,
          `${plural(group.length, 'request')} since ${first} came without ${names}${alt}, but later requests passed (last ${accepted}): a second sender that does not sign, or a scanner; check the client addresses with relay rejections`,
        ),
      );
      continue;
    }
    out.push(
      finding(
        'problem',
        `rejections ${key}`,
        `${names}${alt} never arrived on ${plural(group.length, 'request')} since ${first}: your proxy or load balancer strips ${names}; configure it to pass ${absent.length > 1 ? 'them' : 'it'} through unchanged`,
      ),
    );
  }
  return out;
}

function formatSkew(sec: number): string {
  const abs = Math.abs(sec);
  return abs >= 90 ? `${Math.round(abs / 60)} min` : `${abs} s`;
}

/**
 * Stale timestamps whose skew (relay clock minus signed timestamp) is the same every time: a clock
 * off by that much, on the relay's host or the sender's. Varying skews mean delayed or replayed requests.
 */
export function clockSkew(records: readonly Rejection[]): Finding[] {
  const out: Finding[] = [];
  const stale = records.filter(
    (r) => r.reason === 'stale_timestamp' && typeof r.detail?.skewSec === 'number',
  );
  for (const [key, group] of groupBy(stale, keyOf)) {
    if (group.length < minRepeats) continue;
    const skews = group.map((r) => r.detail?.skewSec as number).sort((a, b) => a - b);
    const min = skews[0] as number;
    const max = skews[skews.length - 1] as number;
    const median = skews[Math.floor(skews.length / 2)] as number;
    const direction = median > 0 ? 'behind' : 'ahead of';
    if (max - min <= Math.max(60, Math.abs(median) * 0.1) && Math.sign(min) === Math.sign(max)) {
      out.push(
        finding(
          'problem',
          `rejections ${key}`,
          `${plural(group.length, 'request')} signed ${formatSkew(median)} ${direction} this relay's clock (skew ${min}..${max} s): clock off by ${formatSkew(median)}: check NTP on the relay's host (timedatectl, chronyc tracking), then on the sender's`,
        ),
      );
    } else {
      out.push(
        finding(
          'warning',
          `rejections ${key}`,
          `${plural(group.length, 'stale timestamp')} with skews from ${min} to ${max} s: requests are delayed or replayed on the way (a retrying proxy or queue in front of the relay?)`,
        ),
      );
    }
  }
  return out;
}

/**
 * Every signature failing since some moment, after requests that passed: the secret changed at
 * the provider. Failing with no success in the queue's history: the configured secret never matched.
 */
export function secretMismatch(records: readonly Rejection[], ctx: PatternContext): Finding[] {
  const out: Finding[] = [];
  const bad = records.filter((r) => r.reason === 'bad_signature');
  for (const [key, group] of groupBy(bad, keyOf)) {
    if (group.length < minRepeats) continue;
    const sample = group[0] as Rejection;
    const field = ctx.auth(sample.channel, sample.account, sample.path)?.secretField ?? 'the secret';
    const { first } = span(group);
    const accepted = ctx.lastAccepted.get(key);
    if (accepted === undefined) {
      out.push(
        finding(
          'problem',
          `rejections ${key}`,
          `every signature fails (${plural(group.length, 'request')} since ${first}) and no request from it is in the queue's history: ${field} does not match the provider's; copy it again (no stray whitespace, not an old value)`,
        ),
      );
    } else if (accepted < first) {
      out.push(
        finding(
          'problem',
          `rejections ${key}`,
          `all signatures fail since ${first} (${plural(group.length, 'request')}); the last accepted request was ${accepted}: the secret was rotated at the provider but not here; put the new one in ${field} (a list [new, old] accepts both during the change)`,
        ),
      );
    } else {
      out.push(
        finding(
          'warning',
          `rejections ${key}`,
          `${plural(group.length, 'bad signature')} since ${first} while other requests pass (last ${accepted}): a second sender with another secret, or bodies altered on one path; compare client addresses with relay rejections`,
        ),
      );
    }
  }
  return out;
}

/**
 * Bad signatures from a sender that signs the URL (Twilio, Square, HubSpot): the rejection names
 * the URL the relay checked, and the usual cause is that it is not the one the sender posted to.
 */
export function signedUrlMismatch(records: readonly Rejection[]): Finding[] {
  const out: Finding[] = [];
  const bad = records.filter((r) => r.reason === 'bad_signature' && typeof r.detail?.url === 'string');
  for (const [key, group] of groupBy(bad, keyOf)) {
    if (group.length < minRepeats) continue;
    const url = (group[group.length - 1] as Rejection).detail?.url as string;
    out.push(
      finding(
        'problem',
        `rejections ${key}`,
        `${plural(group.length, 'signature')} over the URL failed; the relay checked ${url}: if the sender posts to another URL, set publicUrl to the public base the sender uses, and make the proxy pass X-Forwarded-Proto and X-Forwarded-Host (or the original Host) unchanged`,
      ),
    );
  }
  return out;
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** One unknown account hit again and again: a provider holding a URL with a typo, or an account removed from the config. */
export function unknownAccounts(records: readonly Rejection[], ctx: PatternContext): Finding[] {
  const out: Finding[] = [];
  const unknown = records.filter((r) => r.reason === 'unknown_account');
  for (const [key, group] of groupBy(unknown, keyOf)) {
    if (group.length < minRepeats) continue;
    const sample = group[0] as Rejection;
    const configured = ctx.accounts.get(sample.channel) ?? [];
    const close = configured
      .map((name) => ({ name, d: distance(name.toLowerCase(), sample.account.toLowerCase()) }))
      .filter((c) => c.d <= Math.max(2, Math.floor(sample.account.length / 4)))
      .sort((a, b) => a.d - b.d)[0];
    const path = sample.path;
    if (close) {
      out.push(
        finding(
          'problem',
          `rejections ${key}`,
          `${plural(group.length, 'request')} to ${path}, an account not in the config: a typo in the URL given to the provider? Did you mean ${sample.channel}/${close.name}; fix the URL at the provider`,
        ),
      );
    } else {
      out.push(
        finding(
          'warning',
          `rejections ${key}`,
          `${plural(group.length, 'request')} to ${path}, an account not in the config (configured: ${configured.join(', ') || 'none'}): a wrong URL at the provider, or an account removed here that the provider still sends to`,
        ),
      );
    }
  }
  return out;
}

/** Every diagnosis; one ok line when the log shows no pattern. */
export function diagnoseRejections(records: readonly Rejection[], ctx: PatternContext): Finding[] {
  const found = [
    ...unconfiguredRoutes(records),
    ...strippedHeaders(records, ctx),
    ...clockSkew(records),
    ...secretMismatch(records, ctx),
    ...signedUrlMismatch(records),
    ...reEncodedBodies(records),
    ...unknownAccounts(records, ctx),
    ...oversizedBodies(records),
  ];
  if (found.length > 0) return found;
  return [
    finding(
      'ok',
      'rejections',
      records.length === 0
        ? 'none in the last 24 h'
        : `${plural(records.length, 'rejected request')} in the last 24 h, no pattern that points to a cause`,
    ),
  ];
}
