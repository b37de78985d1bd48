import type { Rejection } from '../rejections.js';

/** A pattern needs this many requests: scanners and one-off mistakes send odd requests all the time. */
export const minRepeats = 3;

export const keyOf = (r: Rejection) => `${r.channel}/${r.account}`;

export function groupBy(
  records: readonly Rejection[],
  key: (r: Rejection) => string,
): Map<string, Rejection[]> {
  const out = new Map<string, Rejection[]>();
  for (const r of records) {
    const k = key(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}

/** Oldest and newest `at` of a group (records come newest first, but do not rely on it). */
export function span(records: readonly Rejection[]): { first: string; last: string } {
  const times = records.map((r) => r.at).sort();
  return { first: times[0] ?? '', last: times[times.length - 1] ?? '' };
}

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
