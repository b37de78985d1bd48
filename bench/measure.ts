/**
 * One run of one server: start it, wait for it to be ready, warm it up, load it with wrk while
 * sampling CPU and memory, then count that every 2xx is in Redis, and measure what each retained
 * event costs there.
 */

import { sampleEventBytes } from '../src/queue/sizing.js';
import { options, type ServerKind } from './options.js';
import { type CpuShares, CpuWindow, RssSampler, rssMiB } from './proc-stats.js';
import { exited, monotonicUs, pinned, sleep, stopChild, tail, unpinHelpers } from './processes.js';
import { startServer } from './servers.js';
import { cleanupKeys, control, keepLogs } from './session.js';
import { runWrk, targetPath, type WrkResult } from './wrk.js';

export interface RunResult {
  readonly server: ServerKind;
  readonly round: number;
  /** `profiled` under node --cpu-prof, `overload` at --overload times the connections. */
  readonly variant: 'plain' | 'profiled' | 'overload';
  readonly connections: number;
  readonly load: WrkResult;
  readonly warmup?: WrkResult;
  readonly peakRssMiB: number;
  /** Resident set once ready, before any load. */
  readonly idleRssMiB: number | undefined;
  readonly cpu: CpuShares;
  /** Server CPU time per answered request, µs: less sensitive to other load on the machine than req/s. */
  readonly cpuUsPerReq: number | undefined;
  /** The main thread's share: the request path, without V8's, libuv's or a worker thread's CPU. */
  readonly mainUsPerReq: number | undefined;
  /** Redis CPU time per answered request, µs (includes any other client of that Redis). */
  readonly redisUsPerReq: number | undefined;
  /** Jobs made during the measured load, per second (with the journal they may trail the 2xx). */
  readonly jobsPerSec: number | undefined;
  /** After the load, how long until every 2xx was stored. */
  readonly drainMs: number;
  /** ms from spawn to ready (relay: /readyz 200; the others: their ready line). */
  readonly readyMs: number;
  /** 2xx answers over warmup + measured load. */
  readonly answered2xx: number;
  /** Jobs (relay, naive) or stream entries (floor) afterwards. */
  readonly stored: number;
  readonly lost: number;
  /** Redis bytes per retained event, sampled from the newest jobs (src/queue/sizing.ts). */
  readonly redisBytesPerEvent: number | undefined;
  readonly exit: string;
  /** CLOCK_MONOTONIC µs around the measured wrk run, to crop a CPU profile to it. */
  readonly loadWindowUs: readonly [number, number];
}

async function waitReady(started: Awaited<ReturnType<typeof startServer>>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited(started.child))
      throw new Error(
        `${started.kind} exited (${started.child.exitCode ?? started.child.signalCode}) before it was ready:\n${tail(started.log)}`,
      );
    if (await started.ready().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`${started.kind} not ready within ${timeoutMs} ms:\n${tail(started.log)}`);
}

const perReq = (pct: number | undefined, reqPerSec: number) =>
  pct === undefined || reqPerSec === 0 ? undefined : (pct * 1e4) / reqPerSec;

export async function runServer(
  kind: ServerKind,
  round: number,
  runId: string,
  script: string,
  workDir: string,
  variant: RunResult['variant'] = 'plain',
  profileDir?: string,
): Promise<RunResult> {
  const tag = `${runId}-${kind[0]}${variant === 'plain' ? round : variant[0]}`;
  const connections = variant === 'overload' ? options.connections * options.overload : options.connections;
  const t0 = performance.now();
  const server = await startServer(kind, tag, workDir, profileDir ? { profileDir } : {});
  const { child } = server;
  try {
    await waitReady(server, 20_000);
    const readyMs = performance.now() - t0;
    if (pinned && options.pin === 'main' && child.pid) unpinHelpers(child.pid);
    const pid = child.pid;
    if (pid === undefined) throw new Error('no pid');
    await sleep(500);
    const idleRssMiB = rssMiB(pid);
    const url = `http://127.0.0.1:${server.port}${targetPath}`;
    const rss = new RssSampler(pid);
    let warmup: WrkResult | undefined;
    let load: WrkResult;
    let cpu: CpuShares;
    let jobsPerSec: number | undefined;
    let peakRssMiB: number;
    let loadFrom = 0;
    let loadTo = 0;
    try {
      if (options.warmupSec > 0) warmup = await runWrk(url, options.warmupSec, script, connections);
      const stored0 = await server.stored();
      const window = await CpuWindow.start(pid);
      loadFrom = monotonicUs();
      load = await runWrk(url, options.durationSec, script, connections);
      loadTo = monotonicUs();
      cpu = await window.stop();
      jobsPerSec = ((await server.stored()) - stored0) / ((loadTo - loadFrom) / 1e6);
    } finally {
      peakRssMiB = rss.stop();
    }
    // With the journal, jobs may trail the 2xx: wait (at most 60 s) until every 2xx is stored.
    const answered2xx = load.ok2xx + (warmup?.ok2xx ?? 0);
    const drainFrom = performance.now();
    while ((await server.stored()) < answered2xx && performance.now() - drainFrom < 60_000) await sleep(50);
    const drainMs = performance.now() - drainFrom;
    const stopped = await stopChild(child, 15_000);
    const exit = stopped.forced
      ? 'killed after 15 s'
      : stopped.signal
        ? `signal ${stopped.signal}`
        : `exit ${stopped.code}`;
    const stored = await server.stored();
    const redisBytesPerEvent =
      kind === 'floor' ? undefined : await sampleEventBytes(control(), server.prefix, server.queue);
    await cleanupKeys(server.prefix);
    return {
      server: kind,
      round,
      variant,
      connections,
      load,
      ...(warmup ? { warmup } : {}),
      peakRssMiB,
      idleRssMiB,
      cpu,
      cpuUsPerReq: perReq(cpu.server, load.reqPerSec),
      mainUsPerReq: perReq(cpu.main, load.reqPerSec),
      redisUsPerReq: perReq(cpu.redis, load.reqPerSec),
      jobsPerSec,
      drainMs,
      readyMs,
      answered2xx,
      stored,
      lost: Math.max(0, answered2xx - stored),
      redisBytesPerEvent,
      exit,
      loadWindowUs: [loadFrom, loadTo],
    };
  } catch (err) {
    keepLogs();
    throw err;
  } finally {
    if (!exited(child)) await stopChild(child, 5000);
  }
}
