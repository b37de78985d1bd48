import { checkTimestamp } from '../timestamp.js';
import type { PresetInput, PresetVerdict } from './types.js';

/** Small readers shared by the presets written as code (discord, sendgrid, twilio, mailgun, handshakes). */

export const missing: PresetVerdict = { ok: false, reason: 'missing' };
export const mismatch: PresetVerdict = { ok: false, reason: 'mismatch' };
export const verified: PresetVerdict = { ok: true };

export function headerOf(input: PresetInput, lowerName: string): string | undefined {
  const value = input.headers[lowerName];
  return (Array.isArray(value) ? value[0] : value) || undefined;
}

/** A signed timestamp in seconds outside the window: `stale` with the skew; unreadable: `mismatch`; else undefined. */
export function outsideWindow(
  seconds: string,
  nowMs: number,
  toleranceSec: number,
): PresetVerdict | undefined {
  const window = checkTimestamp(seconds, nowMs, toleranceSec);
  if (window.ok) return undefined;
  return window.reason === 'stale' ? { ok: false, reason: 'stale', skewSec: window.skewSec ?? 0 } : mismatch;
}

/** `value[key]` when `value` is an object, else undefined. */
export function fieldOf(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
}

/** A string or number field as text (a repeated form field: its first value). */
export function textOf(value: unknown): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' || typeof first === 'number' ? String(first) : undefined;
}
