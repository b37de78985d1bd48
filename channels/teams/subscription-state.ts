/**
 * What the subscription loop keeps in its cursor (one JSON value in Redis, fenced by the lease):
 * per configured subscription, the Graph id and expiry, so a restart or another replica reuses the
 * subscriptions instead of creating more.
 */
export interface Entry {
  readonly resource: string;
  readonly changeType: string;
  id: string;
  /** ISO time Graph last reported. */
  expiresAt: string;
  /** When to renew (ms): three quarters into the lifetime Graph granted. */
  renewAt: number;
  /** `missed` lifecycle notifications seen for this subscription. */
  missed: number;
}

export type State = Map<string, Entry>;

/** The subscription as Graph returns it (https://learn.microsoft.com/graph/api/resources/subscription). */
export interface GraphSubscription {
  readonly id: string;
  readonly resource: string;
  readonly changeType: string;
  readonly notificationUrl: string;
  readonly expirationDateTime: string;
}

const normalizeResource = (r: string) => r.replace(/^\/+/, '').toLowerCase();
const normalizeChange = (c: string) =>
  c
    .split(',')
    .map((s) => s.trim())
    .sort()
    .join(',');

/** One key per configured subscription: its change types and resource. */
export const keyOf = (s: { resource: string; changeType: string }): string =>
  `${normalizeChange(s.changeType)} ${normalizeResource(s.resource)}`;

const str = (v: unknown): v is string => typeof v === 'string' && v !== '';

export function asSubscription(value: unknown): GraphSubscription {
  const o = (value ?? {}) as Record<string, unknown>;
  if (!str(o.id) || !str(o.expirationDateTime)) {
    throw new Error('Graph answered a subscription call without id or expirationDateTime');
  }
  return {
    id: o.id,
    resource: str(o.resource) ? o.resource : '',
    changeType: str(o.changeType) ? o.changeType : '',
    notificationUrl: str(o.notificationUrl) ? o.notificationUrl : '',
    expirationDateTime: o.expirationDateTime,
  };
}

/** Renew three quarters into what Graph granted, and never sooner than a second from now. */
export const renewTime = (expiresAt: string, nowMs: number): number =>
  nowMs + Math.max(1000, Math.floor((Date.parse(expiresAt) - nowMs) * 0.75));

export function parseState(raw: string | undefined): State {
  const state: State = new Map();
  if (!raw) return state;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return state;
  }
  const subs = (parsed as { subscriptions?: unknown } | null)?.subscriptions;
  if (!subs || typeof subs !== 'object') return state;
  for (const [key, value] of Object.entries(subs as Record<string, unknown>)) {
    const e = value as Record<string, unknown>;
    if (!str(e.id) || !str(e.expiresAt) || !str(e.resource) || !str(e.changeType)) continue;
    state.set(key, {
      resource: e.resource,
      changeType: e.changeType,
      id: e.id,
      expiresAt: e.expiresAt,
      renewAt: typeof e.renewAt === 'number' ? e.renewAt : 0,
      missed: typeof e.missed === 'number' ? e.missed : 0,
    });
  }
  return state;
}

export const serializeState = (state: State): string =>
  JSON.stringify({ version: 1, subscriptions: Object.fromEntries(state) });
