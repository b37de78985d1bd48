/**
 * Results as JSON files under bench/results/, one per run, so a later run (or a person) can compare:
 * each run prints its goals next to those of the newest earlier file with the same load settings.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { say } from './options.js';
import type { Goals } from './report.js';
import { f2, table } from './report.js';
import { root } from './servers.js';

export const resultsDir = join(root, 'bench', 'results');

export interface SavedResult {
  readonly machine: Record<string, unknown>;
  readonly settings: Record<string, unknown> & { connections: number; durationSec: number; journal: boolean };
  readonly goals: Goals;
  readonly [key: string]: unknown;
}

function previous(settings: SavedResult['settings']): { file: string; result: SavedResult } | undefined {
  if (!existsSync(resultsDir)) return undefined;
  const files = readdirSync(resultsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .reverse();
  for (const file of files) {
    try {
      const result = JSON.parse(readFileSync(join(resultsDir, file), 'utf8')) as SavedResult;
      const s = result.settings;
      if (s.connections === settings.connections && s.journal === settings.journal) return { file, result };
    } catch {
      // not one of ours
    }
  }
  return undefined;
}

/** Prints the comparison with the newest earlier result, then writes this one; returns its path. */
export function saveResult(result: SavedResult, write: boolean): string | undefined {
  const before = previous(result.settings);
  if (before) {
    const b = before.result.goals;
    const a = result.goals;
    const x = (n: number | undefined) => (n === undefined ? '-' : `${f2(n)}×`);
    const mib = (n: number | undefined) => (n === undefined ? '-' : `${n.toFixed(1)} MiB`);
    say();
    say(`Against bench/results/${before.file}:`);
    for (const line of table([
      ['', 'then', 'now'],
      ['relay/floor req/s', x(b.relayPerFloor), x(a.relayPerFloor)],
      ['relay/naive req/s', x(b.relayPerNaive), x(a.relayPerNaive)],
      ['relay/floor p99', x(b.p99PerFloor), x(a.p99PerFloor)],
      ['relay peak RSS', mib(b.peakRssMiB), mib(a.peakRssMiB)],
      ['relay idle RSS', mib(b.idleRssMiB), mib(a.idleRssMiB)],
    ]))
      say(`  ${line}`);
  }
  if (!write) return undefined;
  mkdirSync(resultsDir, { recursive: true });
  const name = `${String(result.machine.date).replace(/[:.]/g, '-')}.json`;
  const path = join(resultsDir, name);
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}
