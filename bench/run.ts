/**
 * `npm run bench`: Relay against the floor (the least any relay must do) and the naive relay (what a
 * user writes instead), side by side in one run, each alone on one core with wrk on the other.
 *
 * Each round runs every server (default settings, its own Redis prefix), then BullMQ alone; after
 * the rounds, one relay run at --overload times the connections. Medians over the rounds, the
 * goals' ratios, and the result as a JSON file under bench/results/ compared with the previous one.
 * A benchmark, not a test: nothing here asserts a speed; only a lost event (stored < 2xx) makes it
 * exit 1. Files: options, processes (spawn, pin, stop), session (Redis, cleanup), wrk (load),
 * servers, measure (one run), proc-stats, profile, report, results. See docs/performance.md.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { type RunResult, runServer } from './measure.js';
import { note, options, type ServerKind, say } from './options.js';
import { cores, cpuModel, loadCpu, median, pinned, serverCpu, tools } from './processes.js';
import { summarizeProfile } from './profile.js';
import { f0, f1, f2, goals, medians, printOverload, printRuns, printSummary, table } from './report.js';
import { saveResult } from './results.js';
import { benchScripts, type CeilingResult, relayBin, runCeiling } from './servers.js';
import { cleanupAll, isInterrupted, keepLogs, openSession } from './session.js';
import { body, targetPath, writeWrkScript } from './wrk.js';

async function machineInfo(control: Awaited<ReturnType<typeof openSession>>['control']) {
  const info = await control.info('server');
  const persistence = await control.info('persistence');
  const aof = /aof_enabled:(\d)/.exec(persistence)?.[1] === '1';
  const fsyncReply = (await control.config('GET', 'appendfsync').catch(() => [])) as unknown;
  const appendfsync = Array.isArray(fsyncReply) && typeof fsyncReply[1] === 'string' ? fsyncReply[1] : '?';
  return {
    date: new Date().toISOString(),
    nproc: cores,
    cpu: cpuModel(),
    kernel: release(),
    node: process.version,
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    redisPersistence: aof ? `AOF on (appendfsync ${appendfsync})` : 'AOF off',
    wrk:
      (spawnSync(tools.wrk ?? 'wrk', ['-v'], { encoding: 'utf8' }).stdout ?? '')
        .split('\n')[0]
        ?.replace(/\s*Copyright.*$/, '')
        .trim() || 'wrk',
    pinning: pinned
      ? `taskset: server ${options.pin === 'main' ? 'main thread' : '(all threads)'} on cpu ${serverCpu}, wrk on cpu ${loadCpu} (Redis, this driver${options.pin === 'main' ? ", the servers' other threads" : ''} unpinned)`
      : tools.taskset
        ? `not pinned: only ${cores} core(s)`
        : 'not pinned: taskset not found (util-linux)',
  };
}

async function main(): Promise<number> {
  if (!tools.wrk) {
    note(
      'bench: wrk is not installed. Install it with:\n\n  apt-get install wrk        (Debian/Ubuntu; brew install wrk on macOS)\n',
    );
    return 1;
  }
  const missing = [relayBin, ...Object.values(benchScripts)].find((f) => !existsSync(f));
  if (missing) {
    note(`bench: ${missing} missing: run \`npm run build\` first (npm run bench does)`);
    return 1;
  }
  let session: Awaited<ReturnType<typeof openSession>>;
  try {
    session = await openSession();
  } catch (err) {
    note(
      `bench: cannot reach Redis: ${err instanceof Error ? err.message : String(err)}; start one or set REDIS_URL`,
    );
    return 1;
  }
  const { control, workDir } = session;
  const machine = await machineInfo(control);
  const script = join(workDir, 'post.lua');
  writeWrkScript(script);
  const runId = randomBytes(4).toString('hex');
  const settings = {
    rounds: options.rounds,
    durationSec: options.durationSec,
    warmupSec: options.warmupSec,
    connections: options.connections,
    overload: options.overload,
    servers: options.servers,
    threads: 1,
    bodyBytes: Buffer.byteLength(body),
    relayLogLevel: options.logLevel ?? 'info (default)',
    relayNodeArgs: options.relayNodeArgs,
    journal: options.journal,
    pump: options.journal ? options.pump : undefined,
    pin: options.pin,
    target: `POST ${targetPath} (generic trigger, hmac-sha256, X-Signature-256: sha256=<hex>)`,
  };

  say(`Relay bench — ${machine.date}`);
  say(
    `machine: ${machine.nproc} cores, ${machine.cpu}, Linux ${machine.kernel}, node ${machine.node}, Redis ${machine.redis} (${machine.redisPersistence})`,
  );
  say(
    `load:    ${machine.wrk}, 1 thread, ${options.connections} connections, ${settings.bodyBytes} B signed JSON, ${options.warmupSec} s warmup + ${options.durationSec} s measured per run`,
  );
  say(`pinning: ${machine.pinning}`);
  say(
    `relay:   default settings, LOG_LEVEL ${settings.relayLogLevel}, logs to a file; ${settings.target}; ${options.journal ? `ingest journal on (pump: ${options.pump})` : 'jobs before the 2xx'}`,
  );
  if (options.relayNodeArgs.length > 0)
    say(`relay node flags (experiment): ${options.relayNodeArgs.join(' ')}`);
  say();

  const runs: RunResult[] = [];
  const ceilings: CeilingResult[] = [];
  const check = (r: RunResult) => {
    if (r.lost > 0)
      note(
        `\n!!! FAIL: ${r.server} ${r.variant} round ${r.round}: ${f0(r.lost)} answered 2xx but not stored !!!\n`,
      );
    else
      note(
        `  ${f0(r.load.reqPerSec)} req/s, p99 ${f2(r.load.p99Ms)} ms, peak RSS ${f1(r.peakRssMiB)} MiB; ${f0(r.stored)} stored for ${f0(r.answered2xx)} 2xx: ok`,
      );
  };
  for (let round = 1; round <= options.rounds; round++) {
    for (const kind of options.servers) {
      note(`round ${round}/${options.rounds}: ${kind}…`);
      const r = await runServer(kind, round, runId, script, workDir);
      runs.push(r);
      check(r);
    }
    note(`round ${round}/${options.rounds}: BullMQ alone…`);
    const c = await runCeiling(round, runId, body);
    ceilings.push(c);
    note(`  ${f0(c.jobsPerSec)} jobs/s (Queue.add, 100 in flight, no HTTP)`);
    printRuns(
      `Round ${round}`,
      runs.filter((r) => r.round === round),
    );
    say();
  }

  const byServer: Partial<Record<ServerKind, ReturnType<typeof medians>>> = {};
  for (const kind of options.servers) byServer[kind] = medians(runs.filter((r) => r.server === kind));
  const ceiling = {
    jobsPerSec: median(ceilings.map((c) => c.jobsPerSec)),
    cpuUsPerJob: median(ceilings.map((c) => c.cpuUsPerJob)),
    redisUsPerJob: median(ceilings.map((c) => c.redisUsPerJob)),
  };
  const g = goals(byServer, ceiling.jobsPerSec);
  printSummary(byServer, g, ceiling);

  let overload: RunResult | undefined;
  if (options.overload > 0 && options.servers.includes('relay')) {
    note(`overload: relay at ${options.connections * options.overload} connections…`);
    overload = await runServer('relay', 0, runId, script, workDir, 'overload');
    check(overload);
    say();
    printOverload(overload);
  }

  let profile: (ReturnType<typeof summarizeProfile> & { run: RunResult; file: string }) | undefined;
  if (options.profile) {
    note('profile: relay under node --cpu-prof…');
    const dir = join(workDir, 'profile');
    const run = await runServer('relay', 0, runId, script, workDir, 'profiled', dir);
    // The main thread's profile (thread 0) comes first; a pump thread writes its own.
    const file = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort()[0];
    if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
    keepLogs();
    const path = join(dir, file);
    profile = { run, file: path, ...summarizeProfile(path, 15, run.loadWindowUs[0], run.loadWindowUs[1]) };
    say();
    say(`Profile: relay under node --cpu-prof (${f0(run.load.reqPerSec)} req/s under the profiler), ${path}`);
    say(
      `  (open it in Chrome DevTools › Performance; summarized: ${profile.window}, ${f0(profile.totalMs)} ms sampled)`,
    );
    say('  Top 15 frames by self time:');
    for (const line of table(
      [['self %', 'function', 'where'], ...profile.frames.map((fr) => [f1(fr.pct), fr.name, fr.where])],
      [1, 2],
    ))
      say(`    ${line}`);
    say('  Self time by owner of the frame (npm package, node core module, relay code, VM):');
    for (const line of table(profile.owners.map((o) => [o.name, `${f1(o.pct)} %`]))) say(`    ${line}`);
    say(
      '  Self time charged to the nearest npm package or relay frame on the stack (who asked for the work):',
    );
    for (const line of table(profile.attributed.map((o) => [o.name, `${f1(o.pct)} %`]))) say(`    ${line}`);
  }

  const all = [...runs, ...(overload ? [overload] : []), ...(profile ? [profile.run] : [])];
  const lost = all.reduce((a, r) => a + r.lost, 0);
  say();
  say(
    lost > 0
      ? `!!! FAIL: ${f0(lost)} request(s) answered 2xx were not stored — see the rounds above !!!`
      : 'every 2xx was stored (relay and naive: a job; floor: a stream entry)',
  );

  const result = {
    machine,
    settings,
    goals: g,
    medians: byServer,
    ceiling: { ...ceiling, rounds: ceilings },
    rounds: runs,
    ...(overload ? { overload } : {}),
    ...(profile
      ? {
          profile: {
            file: profile.file,
            window: profile.window,
            totalMs: profile.totalMs,
            top: profile.frames,
            owners: profile.owners,
            attributed: profile.attributed,
          },
        }
      : {}),
    ok: lost === 0,
  };
  const saved = saveResult(result, options.save);
  if (saved) say(`result: ${saved}`);
  if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return lost > 0 ? 1 : 0;
}

main().then(
  async (code) => {
    await cleanupAll();
    process.exit(code);
  },
  async (err: unknown) => {
    if (isInterrupted()) return; // the signal handler cleans up and exits
    note(`\nbench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    keepLogs();
    await cleanupAll();
    process.exit(1);
  },
);
