import type { RouteRule } from '../config/schema.js';
import type { RelayEvent } from './envelope.js';

function typeMatches(pattern: string, type: string): boolean {
  return pattern.endsWith('*') ? type.startsWith(pattern.slice(0, -1)) : pattern === type;
}

function ruleMatches(rule: RouteRule, event: RelayEvent): boolean {
  const m = rule.match;
  if (m.channel !== undefined && m.channel !== event.channel) return false;
  if (m.account !== undefined && m.account !== event.account) return false;
  if (m.trigger !== undefined && (event.channel !== 'webhook' || m.trigger !== event.account)) return false;
  if (m.type !== undefined && !typeMatches(m.type, event.type)) return false;
  if (
    m.senderevent !== undefined &&
    (event.senderevent === undefined || !typeMatches(m.senderevent, event.senderevent))
  )
    return false;
  return true;
}

/** The account's queue (or the default), plus every queue a matching `routes:` rule names; each once. */
export function queuesFor(event: RelayEvent, home: string, rules: readonly RouteRule[]): string[] {
  const queues = new Set([home]);
  for (const rule of rules) if (ruleMatches(rule, event)) for (const q of rule.queues) queues.add(q);
  return [...queues];
}

/** Every queue the config can send to, for inspection and metrics. */
export function allQueues(
  defaultQueue: string,
  accountQueues: Iterable<string>,
  rules: readonly RouteRule[],
): string[] {
  const queues = new Set([defaultQueue, ...accountQueues]);
  for (const rule of rules) for (const q of rule.queues) queues.add(q);
  return [...queues];
}
