/**
 * `npm run bench`: the relay against the floor, side by side, in one run.
 *
 * Each round starts the relay (one HMAC generic trigger, its own Redis prefix and queue), waits for
 * its /readyz, warms it up, loads it with wrk, stops it and counts that every 2xx became a BullMQ
 * job; then the same for the floor (bench/floor.ts: node:http + HMAC + one XADD). Medians over the
 * rounds, and the ratio relay/floor. With --profile, one more relay run under `node --cpu-prof`,
 * summarized as its top self-time frames. A benchmark, not a test: nothing here asserts a speed;
 * only a lost event (jobs < 2xx) makes it exit 1.
 *
 * See docs/performance.md.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

// ---------------------------------------------------------------------------------------------
// Options

const usage = `Usage: npm run bench -- [options]
  --rounds N        rounds, each one relay run and one floor run, alternating (default 3)
  --duration S      measured load per run in seconds (default 10)
  --warmup S        unmeasured load before each measured run, in seconds (default 2; 0 = none)
  --connections N   wrk connections (default 50)
  --log-level L     the relay's LOG_LEVEL (default: unset, the relay's default "info": one line per request)
  --relay-node-arg A  extra node flag for the relay (repeatable), for experiments, e.g.
                    --relay-node-arg=--import=/tmp/patch.mjs; printed in the header
  --journal         run the relay with queue.journal.enabled (acknowledge on one XADD; the pump makes the jobs)
  --pump P          with --journal: where the pump runs, thread (default) or inline (the request thread)
  --pin W           what is pinned to the server's core: process (default: every thread of the server)
                    or main (only its main thread; its other threads may use any core), for both servers
  --profile         also run the relay once under node --cpu-prof and print its top frames
  --json            print a machine-readable summary on stdout (progress goes to stderr)
  --help
Redis: REDIS_URL (default redis://127.0.0.1:6379; only 127.0.0.1/localhost are accepted).`;

function intOption(
  raw: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`--${name} must be an integer from ${min} to ${max}\n\n${usage}\n`);
    process.exit(2);
  }
  return n;
}

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    'log-level': { type: 'string' },
    'relay-node-arg': { type: 'string', multiple: true },
    profile: { type: 'boolean', default: false },
    journal: { type: 'boolean', default: false },
    pump: { type: 'string', default: 'thread' },
    pin: { type: 'string', default: 'process' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (args.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const options = {
  rounds: intOption(args.rounds, 'rounds', 3, 1, 20),
  durationSec: intOption(args.duration, 'duration', 10, 1, 120),
  warmupSec: intOption(args.warmup, 'warmup', 2, 0, 30),
  connections: intOption(args.connections, 'connections', 50, 1, 1000),
  logLevel: args['log-level'],
  relayNodeArgs: args['relay-node-arg'] ?? [],
  profile: args.profile,
  journal: args.journal,
  pump: args.pump,
  pin: args.pin,
  json: args.json,
};

if (!['thread', 'inline'].includes(options.pump) || !['process', 'main'].includes(options.pin)) {
  process.stderr.write(`--pump must be thread or inline, --pin process or main\n\n${usage}\n`);
  process.exit(2);
}

if (
  options.logLevel !== undefined &&
  !['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(options.logLevel)
) {
  process.stderr.write(`--log-level must be one of fatal, error, warn, info, debug, trace, silent\n`);
  process.exit(2);
}

const root = fileURLToPath(new URL('../../', import.meta.url));
const relayBin = join(root, 'bin', 'relay.js');
const floorScript = join(root, 'dist', 'bench', 'floor.js');
const secret = 'bench-secret-0123456789abcdef';
const signatureHeader = 'X-Signature-256';
const signaturePrefix = 'sha256=';
const targetPath = '/webhook/bench/load';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
{
  const host = new URL(redisUrl).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost') {
    process.stderr.write(`bench: REDIS_URL must point at 127.0.0.1 or localhost, not ${host}\n`);
    process.exit(2);
  }
}

/** Progress and tables: stderr with --json (stdout is then the JSON summary only). */
const say = (line = '') => (options.json ? process.stderr : process.stdout).write(`${line}\n`);
const note = (line: string) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Children and Redis keys are always cleaned up, whatever happens.

const children = new Set<ChildProcess>();
const usedPrefixes = new Set<string>();
let control: Redis | undefined;
let workDir: string | undefined;
let keepWorkDir = false;
let interrupted = false;

function killAll(): void {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

async function cleanupKeys(prefix: string): Promise<number> {
  if (!control) return 0;
  let removed = 0;
  let cursor = '0';
  do {
    const [next, keys] = await control.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 2000);
    cursor = next;
    if (keys.length > 0) removed += await control.unlink(...keys);
  } while (cursor !== '0');
  usedPrefixes.delete(prefix);
  return removed;
}

async function cleanupAll(): Promise<void> {
  killAll();
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, 15_000).unref());
  await Promise.race([
    (async () => {
      for (const prefix of [...usedPrefixes]) await cleanupKeys(prefix).catch(() => {});
    })(),
    deadline,
  ]);
  control?.disconnect();
  if (workDir && !keepWorkDir) rmSync(workDir, { recursive: true, force: true });
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    note(`\nbench: ${signal}: stopping children and removing the bench's Redis keys`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function stopChild(
  child: ChildProcess,
  graceMs: number,
): Promise<{ code: number | null; signal: string | null; forced: boolean }> {
  let forced = false;
  if (!exited(child)) {
    child.kill('SIGTERM');
    if (!(await waitExit(child, graceMs))) {
      forced = true;
      child.kill('SIGKILL');
      await waitExit(child, 5000);
    }
  }
  children.delete(child);
  return { code: child.exitCode, signal: child.signalCode, forced };
}

// ---------------------------------------------------------------------------------------------
// Machine

const tools = { wrk: which('wrk'), taskset: which('taskset') };
const cores = availableParallelism();
const pinned = tools.taskset !== undefined && cores >= 2;
const serverCpu = '0';
const loadCpu = '1';

/** Runs `cmd args` pinned to `cpu` when taskset is there; the pid stays the command's own (taskset execs). */
function pinnedSpawn(
  cpu: string,
  cmd: string,
  cmdArgs: readonly string[],
  opts: Parameters<typeof spawn>[2],
): ChildProcess {
  const child = pinned
    ? spawn('taskset', ['-c', cpu, cmd, ...cmdArgs], opts)
    : spawn(cmd, [...cmdArgs], opts);
  children.add(child);
  child.on('error', () => {});
  return child;
}

/**
 * `--pin main`: the server's threads other than its main one (V8's, libuv's, a worker thread) may
 * run on any core; the main thread, which serves the requests, stays on the server's core.
 */
function unpinHelpers(pid: number): void {
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    if (tid === String(pid)) continue;
    spawnSync('taskset', ['-p', '-c', `0-${cores - 1}`, tid], { stdio: 'ignore' });
  }
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.split(':').slice(1).join(':').trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown';
}

// ---------------------------------------------------------------------------------------------
// Load: wrk with a Lua script that POSTs one signed ~1 KB JSON body; done() prints the numbers.

function benchBody(): string {
  const items = Array.from({ length: 12 }, (_, i) => ({
    sku: `SKU-${1000 + i}`,
    qty: (i % 3) + 1,
    price: 9.99 + i,
  }));
  const base = {
    type: 'invoice.paid',
    id: 'evt_bench_0001',
    created: 1_700_000_000,
    customer: { id: 'cus_12345', email: 'someone@example.com', name: 'Bench Customer' },
    items,
    note: '',
  };
  const bare = JSON.stringify(base);
  base.note = 'x'.repeat(Math.max(0, 1024 - bare.length));
  return JSON.stringify(base);
}

const body = benchBody();
const signature = signaturePrefix + createHmac('sha256', secret).update(body).digest('hex');

function wrkScript(): string {
  if (body.includes(']==]')) throw new Error('bench body cannot be embedded in Lua');
  return `-- generated by bench/run.ts
wrk.method = "POST"
wrk.body = [==[${body}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["${signatureHeader}"] = "${signature}"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"durationUs":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
`;
}

interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly reqPerSec: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  /** Responses with status > 399 (wrk's "Non-2xx or 3xx responses"). */
  readonly non2xx: number;
  /** Completed responses that were not errors: the relay only ever answers 2xx or ≥ 400. */
  readonly ok2xx: number;
  readonly socketErrors: { connect: number; read: number; write: number; timeout: number };
}

function num(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`wrk summary: ${key} missing`);
  return v;
}

function parseWrk(stdout: string): WrkResult {
  const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
  const o = JSON.parse(line.slice('WRK_JSON '.length)) as Record<string, unknown>;
  const requests = num(o, 'requests');
  const seconds = num(o, 'durationUs') / 1e6;
  const non2xx = num(o, 'status');
  // Cross-check with wrk's text: the same count is printed as "Non-2xx or 3xx responses".
  const text = /Non-2xx or 3xx responses:\s*(\d+)/.exec(stdout);
  if (text && Number(text[1]) !== non2xx)
    throw new Error(`wrk: non-2xx ${text[1]} in text, ${non2xx} in summary`);
  return {
    requests,
    seconds,
    reqPerSec: seconds > 0 ? requests / seconds : 0,
    p50Ms: num(o, 'p50') / 1000,
    p90Ms: num(o, 'p90') / 1000,
    p99Ms: num(o, 'p99') / 1000,
    maxMs: num(o, 'max') / 1000,
    meanMs: num(o, 'mean') / 1000,
    non2xx,
    ok2xx: requests - non2xx,
    socketErrors: {
      connect: num(o, 'connect'),
      read: num(o, 'read'),
      write: num(o, 'write'),
      timeout: num(o, 'timeout'),
    },
  };
}

async function runWrk(url: string, seconds: number, script: string): Promise<WrkResult> {
  const wrkArgs = [
    '-t1',
    `-c${options.connections}`,
    `-d${seconds}s`,
    '--latency',
    '--timeout',
    '5s',
    '-s',
    script,
    url,
  ];
  const child = pinnedSpawn(loadCpu, tools.wrk ?? 'wrk', wrkArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const finished = await waitExit(child, (seconds + 30) * 1000);
  if (!finished) {
    await stopChild(child, 1000);
    throw new Error(`wrk did not finish within ${seconds + 30} s`);
  }
  children.delete(child);
  if (child.exitCode !== 0) throw new Error(`wrk exited ${child.exitCode ?? child.signalCode}:\n${out}`);
  return parseWrk(out);
}

// ---------------------------------------------------------------------------------------------
// Memory: poll VmRSS during load; VmHWM (the kernel's own high-water mark) at the end.

function readStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // fall through to ps
  }
  if (field === 'VmHWM') return undefined;
  try {
    const kb = Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim());
    return Number.isFinite(kb) && kb > 0 ? kb : undefined;
  } catch {
    return undefined;
  }
}

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; undefined off Linux. */
function processCpuSec(pid: number, file = `/proc/${pid}/stat`): number | undefined {
  try {
    const stat = readFileSync(file, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / clockTicks;
  } catch {
    return undefined;
  }
}

/** CPU seconds of a process's main thread alone (its request path), from /proc/<pid>/task/<pid>/stat. */
function mainThreadCpuSec(pid: number): number | undefined {
  return processCpuSec(pid, `/proc/${pid}/task/${pid}/stat`);
}

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat. */
function machineBusySec(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, ...fields] = line.trim().split(/\s+/);
    const n = fields.map(Number);
    const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - (n[3] ?? 0) - (n[4] ?? 0)) / clockTicks;
  } catch {
    return undefined;
  }
}

/** CPU seconds of this driver and of its children already reaped (wrk, once it has exited). */
function driverCpuSec(): { self: number; children: number } | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      self: (Number(rest[11]) + Number(rest[12])) / clockTicks,
      children: (Number(rest[13]) + Number(rest[14])) / clockTicks,
    };
  } catch {
    return undefined;
  }
}

/** CPU seconds Redis has used so far (INFO cpu: user + sys, all clients, not just the bench's). */
async function redisCpuSec(): Promise<number | undefined> {
  if (!control) return undefined;
  const cpu = await control.info('cpu');
  const user = /used_cpu_user:([\d.]+)/.exec(cpu)?.[1];
  const sys = /used_cpu_sys:([\d.]+)/.exec(cpu)?.[1];
  return user && sys ? Number(user) + Number(sys) : undefined;
}

class RssSampler {
  #peakKb = 0;
  #timer: NodeJS.Timeout;
  constructor(private readonly pid: number) {
    this.#timer = setInterval(() => this.#sample(), 100);
    this.#sample();
  }
  #sample(): void {
    const kb = readStatusKb(this.pid, 'VmRSS');
    if (kb !== undefined && kb > this.#peakKb) this.#peakKb = kb;
  }
  /** Peak resident set in MiB: the larger of the polled maximum and VmHWM. */
  stop(): number {
    clearInterval(this.#timer);
    this.#sample();
    const hwm = readStatusKb(this.pid, 'VmHWM') ?? 0;
    return Math.max(this.#peakKb, hwm) / 1024;
  }
}

// ---------------------------------------------------------------------------------------------
// One run of one server

type ServerKind = 'relay' | 'floor';

interface RunResult {
  readonly server: ServerKind;
  readonly round: number;
  readonly profiled: boolean;
  readonly load: WrkResult;
  readonly warmup?: WrkResult;
  readonly peakRssMiB: number;
  /** CPU used during the measured load, % of one core: the server process, and Redis (all its clients). */
  readonly serverCpuPct: number | undefined;
  /** Server CPU time per answered request, µs: less sensitive to other load on the machine than req/s. */
  readonly cpuUsPerReq: number | undefined;
  /** Relay: jobs made during the measured load, per second (with the journal they may trail the 2xx). */
  readonly jobsPerSec: number | undefined;
  /** Relay: after the load, how long until every 2xx was a job. */
  readonly drainMs: number | undefined;
  /** The main thread's share: the request path, without V8's, libuv's or a worker thread's CPU. */
  readonly mainUsPerReq: number | undefined;
  readonly redisCpuPct: number | undefined;
  /** Redis CPU time per answered request, µs (includes any other client of that Redis). */
  readonly redisUsPerReq: number | undefined;
  /** wrk's CPU, and everything else on the machine (other processes: noise), % of one core. */
  readonly wrkCpuPct: number | undefined;
  readonly otherCpuPct: number | undefined;
  /** ms from spawn to ready (relay: /readyz 200; floor: its ready line). */
  readonly readyMs: number;
  /** 2xx answers over warmup + measured load. */
  readonly answered2xx: number;
  /** BullMQ jobs in the queue (relay) or stream entries (floor) afterwards. */
  readonly stored: number;
  readonly lost: number;
  readonly exit: string;
  /** CLOCK_MONOTONIC µs around the measured wrk run, to crop a CPU profile to it. */
  readonly loadWindowUs: readonly [number, number];
}

async function waitReady(
  child: ChildProcess,
  log: string,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited(child))
      throw new Error(
        `server exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail(log)}`,
      );
    if (await ready().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`server not ready within ${timeoutMs} ms:\n${tail(log)}`);
}

async function countJobs(prefix: string, queueName: string): Promise<number> {
  if (!control) throw new Error('no Redis connection');
  const queue = new Queue(queueName, { connection: control, prefix, skipWaitingForReady: true });
  try {
    const counts = await queue.getJobCounts();
    return Object.values(counts).reduce((a, b) => a + b, 0);
  } finally {
    await queue.close();
  }
}

interface CeilingResult {
  readonly round: number;
  readonly jobsPerSec: number;
  readonly cpuUsPerJob: number;
  readonly redisUsPerJob: number;
}

/** BullMQ alone (bench/ceiling.ts): `Queue.add` with 100 in flight, the relay's jobs, pinned like a server. */
async function runCeiling(round: number, runId: string): Promise<CeilingResult> {
  const prefix = `bench-${runId}-c${round}`;
  usedPrefixes.add(prefix);
  const child = pinnedSpawn(serverCpu, process.execPath, [join(root, 'dist', 'bench', 'ceiling.js')], {
    cwd: root,
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      CEILING_PREFIX: prefix,
      CEILING_QUEUE: prefix,
      CEILING_MODE: 'add',
      CEILING_INFLIGHT: '100',
      CEILING_SECONDS: String(options.durationSec),
      CEILING_WARMUP: String(Math.min(options.warmupSec, 2)),
      CEILING_BODY: body,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  children.delete(child);
  await cleanupKeys(prefix);
  const line = out.split('\n').find((l) => l.startsWith('CEILING_JSON '));
  if (!line) throw new Error(`bench/ceiling.js printed no result (exit ${child.exitCode})`);
  const r = JSON.parse(line.slice('CEILING_JSON '.length)) as Omit<CeilingResult, 'round'>;
  return { round, jobsPerSec: r.jobsPerSec, cpuUsPerJob: r.cpuUsPerJob, redisUsPerJob: r.redisUsPerJob };
}

async function runServer(
  kind: ServerKind,
  round: number,
  runId: string,
  script: string,
  profileDir?: string,
): Promise<RunResult> {
  if (!workDir || !control) throw new Error('not initialised');
  const tag = `${runId}-${kind === 'relay' ? 'r' : 'f'}${profileDir ? 'p' : round}`;
  const prefix = `bench-${tag}`;
  const queueName = `bench-${tag}`;
  const stream = `${prefix}:floor`;
  usedPrefixes.add(prefix);
  const port = await freePort();
  const opsPort = await freePort();
  const log = join(workDir, `${tag}.log`);
  const fd = openSync(log, 'w');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    OPS_PORT: String(opsPort),
    REDIS_URL: redisUrl,
  };
  delete env.LOG_LEVEL;
  if (options.logLevel !== undefined) env.LOG_LEVEL = options.logLevel;
  delete env.NODE_OPTIONS;

  let child: ChildProcess;
  let ready: () => Promise<boolean>;
  const started = performance.now();
  if (kind === 'relay') {
    const config = join(workDir, `${tag}.yaml`);
    writeFileSync(
      config,
      [
        '# generated by bench/run.ts',
        // Production defaults (rate limits, server.maxInFlight): one client sending the whole load.
        `server: { port: ${port}, opsPort: ${opsPort}, host: 127.0.0.1, opsHost: 127.0.0.1 }`,
        `redis: { url: "${redisUrl}", prefix: ${prefix} }`,
        `queue: { name: ${queueName}, journal: { enabled: ${options.journal}, pump: ${options.pump} } }`,
        'channels:',
        '  webhook:',
        `    - { group: bench, trigger: load, auth: { scheme: hmac-sha256, secrets: ["${secret}"], header: ${signatureHeader}, prefix: "${signaturePrefix}" } }`,
        '',
      ].join('\n'),
    );
    const nodeFlags = [
      ...options.relayNodeArgs,
      ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
    ];
    child = pinnedSpawn(serverCpu, process.execPath, [...nodeFlags, relayBin, 'start', '--config', config], {
      cwd: root,
      env,
      stdio: ['ignore', fd, fd],
    });
    ready = async () =>
      (await fetch(`http://127.0.0.1:${opsPort}/readyz`, { signal: AbortSignal.timeout(1000) })).status ===
      200;
  } else {
    child = pinnedSpawn(serverCpu, process.execPath, [floorScript], {
      cwd: root,
      env: {
        ...env,
        FLOOR_STREAM: stream,
        FLOOR_SECRET: secret,
        FLOOR_HEADER: signatureHeader,
        FLOOR_PREFIX: signaturePrefix,
      },
      stdio: ['ignore', fd, fd],
    });
    ready = async () => readFileSync(log, 'utf8').includes('"floor ready"');
  }
  closeSync(fd);

  try {
    await waitReady(child, log, ready, 20_000);
    const readyMs = performance.now() - started;
    if (pinned && options.pin === 'main' && child.pid) unpinHelpers(child.pid);
    const pid = child.pid;
    if (pid === undefined) throw new Error('no pid');
    const url = `http://127.0.0.1:${port}${targetPath}`;
    const rss = new RssSampler(pid);
    let warmup: WrkResult | undefined;
    let load: WrkResult;
    let peakRssMiB = 0;
    let serverCpuPct: number | undefined;
    let mainCpuPct: number | undefined;
    let jobsPerSec: number | undefined;
    let drainMs: number | undefined;
    let redisCpuPct: number | undefined;
    let wrkCpuPct: number | undefined;
    let otherCpuPct: number | undefined;
    let loadFrom = 0;
    let loadTo = 0;
    try {
      if (options.warmupSec > 0) warmup = await runWrk(url, options.warmupSec, script);
      const jobs0 = kind === 'relay' ? await countJobs(prefix, queueName) : 0;
      const cpu0 = processCpuSec(pid);
      const main0 = mainThreadCpuSec(pid);
      const redis0 = await redisCpuSec();
      const machine0 = machineBusySec();
      const driver0 = driverCpuSec();
      loadFrom = monotonicUs();
      load = await runWrk(url, options.durationSec, script);
      loadTo = monotonicUs();
      const cpu1 = processCpuSec(pid);
      const main1 = mainThreadCpuSec(pid);
      if (kind === 'relay')
        jobsPerSec = ((await countJobs(prefix, queueName)) - jobs0) / ((loadTo - loadFrom) / 1e6);
      const redis1 = await redisCpuSec();
      const machine1 = machineBusySec();
      const driver1 = driverCpuSec();
      const wallSec = (loadTo - loadFrom) / 1e6;
      const pct = (a: number | undefined, b: number | undefined) =>
        a === undefined || b === undefined ? undefined : (100 * (b - a)) / wallSec;
      serverCpuPct = pct(cpu0, cpu1);
      mainCpuPct = pct(main0, main1);
      redisCpuPct = pct(redis0, redis1);
      wrkCpuPct = pct(driver0?.children, driver1?.children);
      const machinePct = pct(machine0, machine1);
      const driverPct = pct(driver0?.self, driver1?.self);
      if (machinePct !== undefined && serverCpuPct !== undefined && wrkCpuPct !== undefined) {
        otherCpuPct = Math.max(
          0,
          machinePct - serverCpuPct - wrkCpuPct - (redisCpuPct ?? 0) - (driverPct ?? 0),
        );
      }
      if (kind === 'relay') {
        // With the journal, jobs may trail the 2xx: wait (at most 60 s) until every 2xx is a job.
        const answered = load.ok2xx + (warmup?.ok2xx ?? 0);
        const from = performance.now();
        while ((await countJobs(prefix, queueName)) < answered && performance.now() - from < 60_000)
          await new Promise((r) => setTimeout(r, 50));
        drainMs = performance.now() - from;
      }
    } finally {
      peakRssMiB = rss.stop();
    }
    const stopped = await stopChild(child, 15_000);
    const exit = stopped.forced
      ? 'killed after 15 s'
      : stopped.signal
        ? `signal ${stopped.signal}`
        : `exit ${stopped.code}`;
    const answered2xx = load.ok2xx + (warmup?.ok2xx ?? 0);
    const stored = kind === 'relay' ? await countJobs(prefix, queueName) : await control.xlen(stream);
    await cleanupKeys(prefix);
    return {
      server: kind,
      round,
      profiled: profileDir !== undefined,
      load,
      ...(warmup ? { warmup } : {}),
      peakRssMiB,
      serverCpuPct,
      cpuUsPerReq:
        serverCpuPct === undefined || load.reqPerSec === 0
          ? undefined
          : (serverCpuPct * 1e4) / load.reqPerSec,
      jobsPerSec,
      drainMs,
      mainUsPerReq:
        mainCpuPct === undefined || load.reqPerSec === 0 ? undefined : (mainCpuPct * 1e4) / load.reqPerSec,
      redisCpuPct,
      redisUsPerReq:
        redisCpuPct === undefined || load.reqPerSec === 0 ? undefined : (redisCpuPct * 1e4) / load.reqPerSec,
      wrkCpuPct,
      otherCpuPct,
      readyMs,
      answered2xx,
      stored,
      lost: Math.max(0, answered2xx - stored),
      exit,
      loadWindowUs: [loadFrom, loadTo],
    };
  } catch (err) {
    keepWorkDir = true;
    throw err;
  } finally {
    if (!exited(child)) await stopChild(child, 5000);
    children.delete(child);
  }
}

// ---------------------------------------------------------------------------------------------
// Profile summary: self time per frame from the .cpuprofile JSON.

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface Frame {
  readonly name: string;
  readonly where: string;
  readonly pct: number;
}

interface ProfileSummary {
  /** Sampled time inside the measured window (or the whole profile when the window could not be found). */
  readonly totalMs: number;
  readonly window: 'measured load only' | 'whole profile';
  /** Self time per function. */
  readonly frames: Frame[];
  /** Self time per owner of the frame itself (package, node core module, relay code, VM). */
  readonly owners: Frame[];
  /**
   * Each sample charged to the nearest npm package or relay frame on its stack: native socket
   * writes called by pino count for pino, node:http parsing called by nobody counts for node:http.
   */
  readonly attributed: Frame[];
}

function shortUrl(url: string): string {
  const u = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = u.lastIndexOf('/node_modules/');
  if (nm !== -1) return u.slice(nm + '/node_modules/'.length);
  if (u.startsWith(root)) return u.slice(root.length);
  return u;
}

/** Who owns a frame: an npm package, the relay's own code, node core, or the VM. */
function owner(frame: CallFrame): string {
  const u = frame.url;
  if (u === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const nm = u.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const parts = u.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? u);
  }
  if (u.startsWith('node:')) {
    const mod = u.slice('node:'.length).replace(/^internal\//, '');
    const first = mod.split('/')[0] ?? mod;
    return `node:${first.replace(/^_/, '').replace(/_.*$/, '')}`;
  }
  if (u.includes('/dist/')) return 'relay';
  return shortUrl(u);
}

const isOwnerCode = (o: string) => o === 'relay' || !(o.startsWith('node:') || o.startsWith('('));

/**
 * Self time per frame from a .cpuprofile, cropped to [fromUs, toUs] when given: V8's profile
 * timestamps and the driver's process.hrtime are both CLOCK_MONOTONIC on Linux, so the measured
 * load window can be cut out of a profile that also holds start-up, warm-up and shutdown.
 */
function summarizeProfile(file: string, top: number, fromUs?: number, toUs?: number): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const ownerOf = new Map<number, string>();
  const charged = new Map<number, string>();
  const chargeOf = (id: number): string => {
    const known = charged.get(id);
    if (known !== undefined) return known;
    let cur: number | undefined = id;
    let found: string | undefined;
    while (cur !== undefined) {
      const node = byId.get(cur);
      if (!node) break;
      const o = ownerOf.get(cur) ?? owner(node.callFrame);
      ownerOf.set(cur, o);
      if (isOwnerCode(o)) {
        found = o;
        break;
      }
      cur = parent.get(cur);
    }
    const frame = byId.get(id);
    const result = found ?? (frame ? owner(frame.callFrame) : '?');
    charged.set(id, result);
    return result;
  };

  const tally = (window: boolean) => {
    const self = new Map<string, { name: string; where: string; us: number }>();
    const owners = new Map<string, number>();
    const attributed = new Map<string, number>();
    let total = 0;
    let t = profile.startTime;
    profile.samples.forEach((id, i) => {
      t += profile.timeDeltas[i] ?? 0;
      if (window && fromUs !== undefined && toUs !== undefined && (t < fromUs || t > toUs)) return;
      // The delta before the next sample is the time spent in this one.
      const us = profile.timeDeltas[i + 1] ?? 0;
      const node = byId.get(id);
      if (!node || us <= 0) return;
      const frame = node.callFrame;
      total += us;
      const name = frame.functionName || '(anonymous)';
      const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
      const key = `${name}\u0000${where}`;
      const entry = self.get(key) ?? { name, where, us: 0 };
      entry.us += us;
      self.set(key, entry);
      const o = owner(frame);
      owners.set(o, (owners.get(o) ?? 0) + us);
      const c = chargeOf(id);
      attributed.set(c, (attributed.get(c) ?? 0) + us);
    });
    return { self, owners, attributed, total };
  };

  let window: ProfileSummary['window'] = 'measured load only';
  let t = fromUs !== undefined ? tally(true) : undefined;
  if (!t || t.total < 100_000) {
    window = 'whole profile';
    t = tally(false);
  }
  const { total } = t;
  const pct = (us: number) => (total > 0 ? (100 * us) / total : 0);
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((x, y) => y[1] - x[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, where: '', pct: pct(us) }));
  return {
    totalMs: total / 1000,
    window,
    frames: [...t.self.values()]
      .sort((x, y) => y.us - x.us)
      .slice(0, top)
      .map((e) => ({ name: e.name, where: e.where, pct: pct(e.us) })),
    owners: rank(t.owners),
    attributed: rank(t.attributed),
  };
}

// ---------------------------------------------------------------------------------------------
// Output

/** Columns are right-aligned except those listed in `left` (default: the first). */
function table(rows: readonly (readonly string[])[], left: readonly number[] = [0]): string[] {
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

const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);

function runRow(r: RunResult): string[] {
  const e = r.load.socketErrors;
  const errors = e.connect + e.read + e.write + e.timeout;
  return [
    r.profiled ? `${r.server} (profiled)` : r.server,
    f0(r.load.reqPerSec),
    f2(r.load.p50Ms),
    f2(r.load.p99Ms),
    f0(r.load.maxMs),
    f1(r.peakRssMiB),
    r.serverCpuPct === undefined ? '-' : f0(r.serverCpuPct),
    r.cpuUsPerReq === undefined ? '-' : f0(r.cpuUsPerReq),
    r.mainUsPerReq === undefined ? '-' : f0(r.mainUsPerReq),
    r.redisCpuPct === undefined ? '-' : f0(r.redisCpuPct),
    r.redisUsPerReq === undefined ? '-' : f0(r.redisUsPerReq),
    r.wrkCpuPct === undefined ? '-' : f0(r.wrkCpuPct),
    r.otherCpuPct === undefined ? '-' : f0(r.otherCpuPct),
    f0(r.load.requests),
    f0(r.load.non2xx),
    f0(errors),
    f0(r.answered2xx),
    f0(r.stored),
    r.lost > 0 ? `FAIL ${f0(r.lost)} lost` : 'ok',
    f0(r.readyMs),
  ];
}

const header = [
  'server',
  'req/s',
  'p50 ms',
  'p99 ms',
  'max ms',
  'peak RSS MiB',
  'cpu %',
  'cpu µs/req',
  'main µs/req',
  'redis cpu %',
  'redis µs/req',
  'wrk cpu %',
  'other cpu %',
  'requests',
  'non-2xx',
  'sock err',
  '2xx (incl. warmup)',
  'jobs/entries',
  'check',
  'ready ms',
];

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  if (!tools.wrk) {
    note(
      'bench: wrk is not installed. Install it with:\n\n  apt-get install wrk        (Debian/Ubuntu; brew install wrk on macOS)\n',
    );
    return 1;
  }
  if (!existsSync(floorScript) || !existsSync(relayBin)) {
    note(`bench: ${floorScript} missing: run \`npm run build\` first (npm run bench does)`);
    return 1;
  }
  control = new Redis(redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 3000, lazyConnect: true });
  control.on('error', () => {});
  try {
    await control.connect();
    await control.ping();
  } catch (err) {
    note(`bench: cannot reach Redis at ${redisUrl}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  const info = await control.info('server');
  const persistence = await control.info('persistence');
  const redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  const aof = /aof_enabled:(\d)/.exec(persistence)?.[1] === '1';
  const fsyncReply = (await control.config('GET', 'appendfsync').catch(() => [])) as unknown;
  const appendfsync = Array.isArray(fsyncReply) && typeof fsyncReply[1] === 'string' ? fsyncReply[1] : '?';

  workDir = mkdtempSync(join(tmpdir(), 'relay-bench-'));
  const script = join(workDir, 'post.lua');
  writeFileSync(script, wrkScript());
  const runId = randomBytes(4).toString('hex');

  const machine = {
    date: new Date().toISOString(),
    nproc: cores,
    cpu: cpuModel(),
    kernel: release(),
    node: process.version,
    redis: redisVersion,
    redisPersistence: aof ? `AOF on (appendfsync ${appendfsync})` : 'AOF off',
    wrk:
      (spawnSync(tools.wrk, ['-v'], { encoding: 'utf8' }).stdout ?? '')
        .split('\n')[0]
        ?.replace(/\s*Copyright.*$/, '')
        .trim() || 'wrk',
    pinning: pinned
      ? `taskset: server ${options.pin === 'main' ? 'main thread' : '(all threads)'} on cpu ${serverCpu}, wrk on cpu ${loadCpu} (Redis, this driver${options.pin === 'main' ? ", the servers' other threads" : ''} unpinned)`
      : tools.taskset
        ? `not pinned: only ${cores} core(s)`
        : 'not pinned: taskset not found (util-linux)',
  };
  const settings = {
    rounds: options.rounds,
    durationSec: options.durationSec,
    warmupSec: options.warmupSec,
    connections: options.connections,
    threads: 1,
    bodyBytes: Buffer.byteLength(body),
    relayLogLevel: options.logLevel ?? 'info (default)',
    relayNodeArgs: options.relayNodeArgs,
    relayJournal: options.journal,
    relayPump: options.journal ? options.pump : undefined,
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
    `relay:   LOG_LEVEL ${settings.relayLogLevel}, logs to a file; ${settings.target}; ${options.journal ? `ingest journal on (ack on XADD, pump in ${options.pump === 'thread' ? 'its own thread' : 'the request thread'} makes jobs)` : 'jobs before the 2xx (journal off)'}`,
  );
  if (options.relayNodeArgs.length > 0)
    say(`relay node flags (experiment): ${options.relayNodeArgs.join(' ')}`);
  say();

  const results: RunResult[] = [];
  const ceilings: CeilingResult[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const kind of ['relay', 'floor'] as const) {
      note(`round ${round}/${options.rounds}: ${kind}…`);
      const r = await runServer(kind, round, runId, script);
      results.push(r);
      const check = `${kind === 'relay' ? 'jobs' : 'stream entries'} ${f0(r.stored)} vs 2xx ${f0(r.answered2xx)}`;
      if (r.lost > 0)
        note(
          `\n!!! FAIL: ${kind} round ${round}: ${check}: ${f0(r.lost)} answered 2xx but not in Redis !!!\n`,
        );
      else
        note(
          `  ${f0(r.load.reqPerSec)} req/s, p99 ${f2(r.load.p99Ms)} ms, peak RSS ${f1(r.peakRssMiB)} MiB; ${check}: ok`,
        );
    }
    note(`round ${round}/${options.rounds}: BullMQ alone…`);
    const c = await runCeiling(round, runId);
    ceilings.push(c);
    note(`  ${f0(c.jobsPerSec)} jobs/s (Queue.add, 100 in flight, no HTTP)`);
    say(`Round ${round}`);
    for (const line of table([header, ...results.filter((r) => r.round === round).map(runRow)]))
      say(`  ${line}`);
    const relayRun = results.find((r) => r.round === round && r.server === 'relay');
    say(
      `  BullMQ alone: ${f0(c.jobsPerSec)} jobs/s, ${f0(c.cpuUsPerJob)} µs CPU + ${f0(c.redisUsPerJob)} µs Redis per job; ` +
        `relay jobs during load: ${f0(relayRun?.jobsPerSec ?? 0)}/s, all jobs ${f0(relayRun?.drainMs ?? 0)} ms after the load`,
    );
    say();
  }

  const med = (kind: ServerKind) => {
    const rs = results.filter((r) => r.server === kind);
    return {
      reqPerSec: median(rs.map((r) => r.load.reqPerSec)),
      p50Ms: median(rs.map((r) => r.load.p50Ms)),
      p99Ms: median(rs.map((r) => r.load.p99Ms)),
      peakRssMiB: median(rs.map((r) => r.peakRssMiB)),
      readyMs: median(rs.map((r) => r.readyMs)),
      cpuUsPerReq: median(rs.map((r) => r.cpuUsPerReq ?? 0)),
      mainUsPerReq: median(rs.map((r) => r.mainUsPerReq ?? 0)),
      redisUsPerReq: median(rs.map((r) => r.redisUsPerReq ?? 0)),
      answered2xx: rs.reduce((a, r) => a + r.answered2xx, 0),
      stored: rs.reduce((a, r) => a + r.stored, 0),
      lost: rs.reduce((a, r) => a + r.lost, 0),
    };
  };
  const relay = med('relay');
  const floor = med('floor');
  const ceiling = {
    jobsPerSec: median(ceilings.map((c) => c.jobsPerSec)),
    cpuUsPerJob: median(ceilings.map((c) => c.cpuUsPerJob)),
    redisUsPerJob: median(ceilings.map((c) => c.redisUsPerJob)),
  };
  const relayJobsPerSec = median(results.filter((r) => r.server === 'relay').map((r) => r.jobsPerSec ?? 0));
  const ratio = floor.reqPerSec > 0 ? relay.reqPerSec / floor.reqPerSec : 0;

  say(`Medians of ${options.rounds} round(s)`);
  for (const line of table([
    [
      'server',
      'req/s',
      'p50 ms',
      'p99 ms',
      'peak RSS MiB',
      'cpu µs/req',
      'main µs/req',
      'redis µs/req',
      'ready ms',
      '2xx (all rounds)',
      'jobs/entries',
    ],
    ...(
      [
        ['relay', relay],
        ['floor', floor],
      ] as const
    ).map(([name, m]) => [
      name,
      f0(m.reqPerSec),
      f2(m.p50Ms),
      f2(m.p99Ms),
      f1(m.peakRssMiB),
      f0(m.cpuUsPerReq),
      f0(m.mainUsPerReq),
      f0(m.redisUsPerReq),
      f0(m.readyMs),
      f0(m.answered2xx),
      f0(m.stored),
    ]),
  ]))
    say(`  ${line}`);
  say();
  say(
    `relay/floor req/s: ${f2(ratio)}×   (p99 relay ${f2(relay.p99Ms)} ms vs floor ${f2(floor.p99Ms)} ms; relay peak RSS ${f1(relay.peakRssMiB)} MiB)`,
  );
  if (relay.cpuUsPerReq > 0 && floor.cpuUsPerReq > 0) {
    say(
      `relay/floor CPU per request: ${f1(relay.cpuUsPerReq / floor.cpuUsPerReq)}×   (${f0(relay.cpuUsPerReq)} µs vs ${f0(floor.cpuUsPerReq)} µs of server CPU per request)`,
    );
  }
  if (relay.mainUsPerReq > 0 && floor.mainUsPerReq > 0) {
    say(
      `relay/floor main-thread CPU per request: ${f1(relay.mainUsPerReq / floor.mainUsPerReq)}×   (${f0(relay.mainUsPerReq)} µs vs ${f0(floor.mainUsPerReq)} µs: the request path alone)`,
    );
  }
  if (ceiling.jobsPerSec > 0) {
    say(
      `BullMQ alone (Queue.add, 100 in flight, the relay's jobs, no HTTP, pinned like a server): ${f0(ceiling.jobsPerSec)} jobs/s, ` +
        `${f0(ceiling.cpuUsPerJob)} µs CPU + ${f0(ceiling.redisUsPerJob)} µs Redis per job`,
    );
    say(
      `relay jobs/BullMQ alone: ${f2(relayJobsPerSec / ceiling.jobsPerSec)}×   (${f0(relayJobsPerSec)} jobs/s made during the load; floor/BullMQ alone: ${f2(floor.reqPerSec / ceiling.jobsPerSec)}×)`,
    );
  }
  say(
    `issue 7 goals, for reference (not asserted): ratio ≥ 1.0× ${ratio >= 1 ? 'met' : 'not met'}; ` +
      `p99 ≤ 20 ms ${relay.p99Ms <= 20 ? 'met' : 'not met'}; RSS ≤ 150 MiB ${relay.peakRssMiB <= 150 ? 'met' : 'not met'}`,
  );
  const lost = results.reduce((a, r) => a + r.lost, 0);
  say(
    lost > 0
      ? `\n!!! FAIL: ${f0(lost)} request(s) answered 2xx did not become a job/entry — see the rounds above !!!`
      : `every 2xx became a job (relay: ${f0(relay.stored)} jobs for ${f0(relay.answered2xx)} 2xx; floor: ${f0(floor.stored)} entries for ${f0(floor.answered2xx)} 2xx)`,
  );

  let profile: (ProfileSummary & { run: RunResult; file: string }) | undefined;
  if (options.profile) {
    note('profile: relay under node --cpu-prof…');
    const dir = join(workDir, 'profile');
    const run = await runServer('relay', 0, runId, script, dir);
    // The main thread's profile (thread 0) comes first; a pump thread writes its own.
    const file = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort()[0];
    if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
    keepWorkDir = true;
    const path = join(dir, file);
    profile = { run, file: path, ...summarizeProfile(path, 15, run.loadWindowUs[0], run.loadWindowUs[1]) };
    say();
    say(
      `Profile: relay under node --cpu-prof, same load (${f0(run.load.reqPerSec)} req/s under the profiler; jobs ${f0(run.stored)} vs 2xx ${f0(run.answered2xx)}: ${run.lost > 0 ? 'FAIL' : 'ok'})`,
    );
    say(`  ${path}`);
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

  if (options.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          machine,
          settings,
          ceiling: { ...ceiling, rounds: ceilings, relayJobsPerSec },
          medians: {
            relay,
            floor,
            ratioReqPerSec: ratio,
            ratioCpuPerReq: floor.cpuUsPerReq > 0 ? relay.cpuUsPerReq / floor.cpuUsPerReq : null,
            ratioMainCpuPerReq: floor.mainUsPerReq > 0 ? relay.mainUsPerReq / floor.mainUsPerReq : null,
          },
          rounds: results,
          ok: lost === 0 && (profile?.run.lost ?? 0) === 0,
          ...(profile
            ? {
                profile: {
                  file: profile.file,
                  reqPerSec: profile.run.load.reqPerSec,
                  window: profile.window,
                  totalMs: profile.totalMs,
                  top: profile.frames,
                  owners: profile.owners,
                  attributed: profile.attributed,
                },
              }
            : {}),
        },
        null,
        2,
      )}\n`,
    );
  }
  return lost > 0 || (profile?.run.lost ?? 0) > 0 ? 1 : 0;
}

main().then(
  async (code) => {
    await cleanupAll();
    process.exit(code);
  },
  async (err: unknown) => {
    if (interrupted) return; // the signal handler cleans up and exits
    note(`\nbench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    keepWorkDir = true;
    await cleanupAll();
    if (workDir) note(`bench: logs kept in ${workDir}`);
    process.exit(1);
  },
);
