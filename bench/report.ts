/** Tables and the summary of `npm run bench`: per round, medians, the goals' ratios, the overload run. */

import type { RunResult } from './measure.js';
import { options, type ServerKind, say } from './options.js';
import { median } from './processes.js';
import type { CeilingResult } from './servers.js';

/** Columns are right-aligned except those listed in `left` (default: the first). */
export function table(rows: readonly (readonly string[])[], left: readonly number[] = [0]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (left.includes(i) ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

export const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
export const f1 = (n: number) => n.toFixed(1);
export const f2 = (n: number) => n.toFixed(2);
const opt = (n: number | undefined, f: (n: number) => string) => (n === undefined ? '-' : f(n));

const runHeader = [
  'server',
  'req/s',
  'p50 ms',
  'p99 ms',
  'max ms',
  'peak RSS MiB',
  'idle RSS MiB',
  'cpu %',
  'cpu µs/req',
  'main µs/req',
  'redis µs/req',
  'wrk cpu %',
  'other cpu %',
  'non-2xx',
  'sock err',
  '2xx (incl. warmup)',
  'stored',
  'check',
  'B/event',
  'ready ms',
];

function runRow(r: RunResult): string[] {
  const e = r.load.socketErrors;
  return [
    r.variant === 'plain' ? r.server : `${r.server} (${r.variant}, ${r.connections} conn)`,
    f0(r.load.reqPerSec),
    f2(r.load.p50Ms),
    f2(r.load.p99Ms),
    f0(r.load.maxMs),
    f1(r.peakRssMiB),
    opt(r.idleRssMiB, f1),
    opt(r.cpu.server, f0),
    opt(r.cpuUsPerReq, f0),
    opt(r.mainUsPerReq, f0),
    opt(r.redisUsPerReq, f0),
    opt(r.cpu.wrk, f0),
    opt(r.cpu.other, f0),
    f0(r.load.non2xx),
    f0(e.connect + e.read + e.write + e.timeout),
    f0(r.answered2xx),
    f0(r.stored),
    r.lost > 0 ? `FAIL ${f0(r.lost)} lost` : 'ok',
    opt(r.redisBytesPerEvent, f0),
    f0(r.readyMs),
  ];
}

export function printRuns(title: string, runs: readonly RunResult[]): void {
  say(title);
  for (const line of table([runHeader, ...runs.map(runRow)])) say(`  ${line}`);
}

export interface Medians {
  readonly reqPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly peakRssMiB: number;
  readonly idleRssMiB: number;
  readonly readyMs: number;
  readonly cpuUsPerReq: number;
  readonly mainUsPerReq: number;
  readonly redisUsPerReq: number;
  readonly jobsPerSec: number;
  readonly redisBytesPerEvent: number | undefined;
  readonly answered2xx: number;
  readonly stored: number;
  readonly lost: number;
}

export function medians(runs: readonly RunResult[]): Medians {
  const m = (pick: (r: RunResult) => number | undefined) => median(runs.map((r) => pick(r) ?? 0));
  const bytes = runs.map((r) => r.redisBytesPerEvent).filter((b): b is number => b !== undefined);
  return {
    reqPerSec: m((r) => r.load.reqPerSec),
    p50Ms: m((r) => r.load.p50Ms),
    p99Ms: m((r) => r.load.p99Ms),
    peakRssMiB: m((r) => r.peakRssMiB),
    idleRssMiB: m((r) => r.idleRssMiB),
    readyMs: m((r) => r.readyMs),
    cpuUsPerReq: m((r) => r.cpuUsPerReq),
    mainUsPerReq: m((r) => r.mainUsPerReq),
    redisUsPerReq: m((r) => r.redisUsPerReq),
    jobsPerSec: m((r) => r.jobsPerSec),
    redisBytesPerEvent: bytes.length > 0 ? median(bytes) : undefined,
    answered2xx: runs.reduce((a, r) => a + r.answered2xx, 0),
    stored: runs.reduce((a, r) => a + r.stored, 0),
    lost: runs.reduce((a, r) => a + r.lost, 0),
  };
}

/** The goals of the speed and memory issue, computed from the medians of one run. */
export interface Goals {
  readonly relayPerFloor: number | undefined;
  readonly relayPerNaive: number | undefined;
  readonly p99PerFloor: number | undefined;
  readonly peakRssMiB: number | undefined;
  readonly idleRssMiB: number | undefined;
  readonly relayJobsPerBullmq: number | undefined;
}

export function goals(m: Partial<Record<ServerKind, Medians>>, ceilingJobsPerSec: number): Goals {
  const { relay, floor, naive } = m;
  const ratio = (a: number | undefined, b: number | undefined) => (a && b ? a / b : undefined);
  return {
    relayPerFloor: ratio(relay?.reqPerSec, floor?.reqPerSec),
    relayPerNaive: ratio(relay?.reqPerSec, naive?.reqPerSec),
    p99PerFloor: ratio(relay?.p99Ms, floor?.p99Ms),
    peakRssMiB: relay?.peakRssMiB,
    idleRssMiB: relay?.idleRssMiB,
    relayJobsPerBullmq: ratio(relay?.jobsPerSec, ceilingJobsPerSec),
  };
}

const met = (ok: boolean) => (ok ? 'met' : 'NOT met');

export function printSummary(
  m: Partial<Record<ServerKind, Medians>>,
  g: Goals,
  ceiling: Omit<CeilingResult, 'round'>,
): void {
  say(`Medians of ${options.rounds} round(s)`);
  const head = [
    'server',
    'req/s',
    'p50 ms',
    'p99 ms',
    'peak RSS MiB',
    'idle RSS MiB',
    'cpu µs/req',
    'main µs/req',
    'redis µs/req',
    'B/event',
    'ready ms',
    '2xx (all rounds)',
    'stored',
  ];
  const rows = Object.entries(m).map(([name, v]) => [
    name,
    f0(v.reqPerSec),
    f2(v.p50Ms),
    f2(v.p99Ms),
    f1(v.peakRssMiB),
    f1(v.idleRssMiB),
    f0(v.cpuUsPerReq),
    f0(v.mainUsPerReq),
    f0(v.redisUsPerReq),
    opt(v.redisBytesPerEvent, f0),
    f0(v.readyMs),
    f0(v.answered2xx),
    f0(v.stored),
  ]);
  for (const line of table([head, ...rows])) say(`  ${line}`);
  say();
  say('Goals (each server alone on one core, wrk on the other; ratios from the same run):');
  if (g.relayPerFloor !== undefined)
    say(`  relay/floor req/s        ${f2(g.relayPerFloor)}×  (goal ≥ 0.50: ${met(g.relayPerFloor >= 0.5)})`);
  if (g.relayPerNaive !== undefined)
    say(`  relay/naive req/s        ${f2(g.relayPerNaive)}×  (goal ≥ 2.50: ${met(g.relayPerNaive >= 2.5)})`);
  if (g.p99PerFloor !== undefined)
    say(`  relay/floor p99          ${f2(g.p99PerFloor)}×  (goal ≤ 1.50: ${met(g.p99PerFloor <= 1.5)})`);
  if (g.peakRssMiB !== undefined && g.idleRssMiB !== undefined)
    say(
      `  relay RSS                peak ${f1(g.peakRssMiB)} MiB (goal ≤ 150: ${met(g.peakRssMiB <= 150)}), idle ${f1(g.idleRssMiB)} MiB (goal ≤ 80: ${met(g.idleRssMiB <= 80)})`,
    );
  if (m.relay?.redisBytesPerEvent !== undefined)
    say(
      `  Redis bytes per event    relay ${f0(m.relay.redisBytesPerEvent)} B${m.naive?.redisBytesPerEvent ? `, naive ${f0(m.naive.redisBytesPerEvent)} B` : ''} (job hash + long-lived dedupe key + index entries, sampled from the newest jobs)`,
    );
  if (ceiling.jobsPerSec > 0) {
    say(
      `  BullMQ alone             ${f0(ceiling.jobsPerSec)} jobs/s (Queue.add, 100 in flight, the relay's jobs, no HTTP), ${f0(ceiling.cpuUsPerJob)} µs CPU + ${f0(ceiling.redisUsPerJob)} µs Redis per job`,
    );
    if (g.relayJobsPerBullmq !== undefined)
      say(
        `  relay jobs/BullMQ alone  ${f2(g.relayJobsPerBullmq)}×  (the one-core limit for jobs made on the serving core is about 0.5×)`,
      );
  }
}

export function printOverload(run: RunResult): void {
  const within = run.load.maxMs <= 3000 && run.load.socketErrors.timeout === 0;
  say(
    `Overload: ${run.connections} connections (${options.overload}×): ${f0(run.load.reqPerSec)} req/s, ${f0(run.load.non2xx)} non-2xx of ${f0(run.load.requests)}, ` +
      `p99 ${f0(run.load.p99Ms)} ms (wrk's, with its synthetic samples), max ${f0(run.load.maxMs)} ms (every answer within Slack's 3 s: ${met(within)}); ` +
      `${f0(run.stored)} jobs for ${f0(run.answered2xx)} 2xx (${run.lost > 0 ? 'FAIL' : 'ok'})`,
  );
}
