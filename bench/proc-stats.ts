/** CPU and memory of the processes under test, read from /proc (and Redis's INFO) around a load. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { control } from './session.js';

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

/** Resident set now, MiB. */
export function rssMiB(pid: number): number | undefined {
  const kb = readStatusKb(pid, 'VmRSS');
  return kb === undefined ? undefined : kb / 1024;
}

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; undefined off Linux. */
export function processCpuSec(pid: number, file = `/proc/${pid}/stat`): number | undefined {
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
export function mainThreadCpuSec(pid: number): number | undefined {
  return processCpuSec(pid, `/proc/${pid}/task/${pid}/stat`);
}

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat. */
export function machineBusySec(): number | undefined {
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
export function driverCpuSec(): { self: number; children: number } | undefined {
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
export async function redisCpuSec(): Promise<number | undefined> {
  const cpu = await control().info('cpu');
  const user = /used_cpu_user:([\d.]+)/.exec(cpu)?.[1];
  const sys = /used_cpu_sys:([\d.]+)/.exec(cpu)?.[1];
  return user && sys ? Number(user) + Number(sys) : undefined;
}

/** Polls VmRSS every 100 ms; at the end, VmHWM (the kernel's own high-water mark) too. */
export class RssSampler {
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

/** CPU of the server, its main thread, Redis, wrk and everything else, over one measured window. */
export class CpuWindow {
  readonly #pid: number;
  readonly #from: Snapshot;
  readonly #startUs: number;

  private constructor(pid: number, from: Snapshot, startUs: number) {
    this.#pid = pid;
    this.#from = from;
    this.#startUs = startUs;
  }

  static async start(pid: number): Promise<CpuWindow> {
    return new CpuWindow(pid, await snapshot(pid), performance.now() * 1000);
  }

  /** % of one core over the window, each; undefined where /proc or INFO could not say. */
  async stop(): Promise<CpuShares> {
    const to = await snapshot(this.#pid);
    const wallSec = (performance.now() * 1000 - this.#startUs) / 1e6;
    const from = this.#from;
    const pct = (a: number | undefined, b: number | undefined) =>
      a === undefined || b === undefined ? undefined : (100 * (b - a)) / wallSec;
    const server = pct(from.server, to.server);
    const wrk = pct(from.driver?.children, to.driver?.children);
    const redis = pct(from.redis, to.redis);
    const machine = pct(from.machine, to.machine);
    const driver = pct(from.driver?.self, to.driver?.self);
    const other =
      machine !== undefined && server !== undefined && wrk !== undefined
        ? Math.max(0, machine - server - wrk - (redis ?? 0) - (driver ?? 0))
        : undefined;
    return { server, main: pct(from.main, to.main), redis, wrk, other };
  }
}

export interface CpuShares {
  readonly server: number | undefined;
  readonly main: number | undefined;
  readonly redis: number | undefined;
  readonly wrk: number | undefined;
  /** Everything else on the machine: noise from outside the bench. */
  readonly other: number | undefined;
}

type Snapshot = Awaited<ReturnType<typeof snapshot>>;

async function snapshot(pid: number) {
  return {
    server: processCpuSec(pid),
    main: mainThreadCpuSec(pid),
    redis: await redisCpuSec(),
    machine: machineBusySec(),
    driver: driverCpuSec(),
  };
}
