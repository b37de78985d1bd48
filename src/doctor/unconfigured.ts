import type { Rejection } from '../rejections.js';
import { unconfiguredKey } from '../verify/unconfigured.js';
import { type Finding, finding } from './finding.js';
import { groupBy, keyOf, minRepeats, plural, span } from './groups.js';

/** Refused because the account does not take that route (src/verify/unconfigured.ts), not for a bad proof. */
export const isUnconfigured = (r: Rejection): boolean => typeof r.detail?.[unconfiguredKey] === 'string';

/**
 * Requests again and again to a route the account does not use (Slack on Socket Mode only, Google
 * Chat on Pub/Sub only, Telegram polling, Teams Graph-only or Bot-only): the provider still holds
 * this URL, or the config lacks the route's secret.
 */
export function unconfiguredRoutes(records: readonly Rejection[]): Finding[] {
  const out: Finding[] = [];
  for (const [key, group] of groupBy(records.filter(isUnconfigured), keyOf)) {
    if (group.length < minRepeats) continue;
    const sample = group[0] as Rejection;
    const field = String(sample.detail?.[unconfiguredKey]);
    out.push(
      finding(
        'warning',
        `rejections ${key}`,
        `${plural(group.length, 'request')} since ${span(group).first} to ${sample.path}, which this account does not take (${String(sample.detail?.why)}): if the provider should deliver there, set ${field}; otherwise remove that URL at the provider`,
      ),
    );
  }
  return out;
}
