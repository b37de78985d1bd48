/** Child processes of the bench: spawned pinned to a core, always stopped, whatever happens. */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus } from 'node:os';

export const children = new Set<ChildProcess>();

export function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const tools = { wrk: which('wrk'), taskset: which('taskset') };
export const cores = availableParallelism();
export const pinned = tools.taskset !== undefined && cores >= 2;
/** The server under test runs on this core; wrk on the other. Redis and the driver are not pinned. */
export const serverCpu = '0';
export const loadCpu = '1';

/** Runs `cmd args` pinned to `cpu` when taskset is there; the pid stays the command's own (taskset execs). */
export function pinnedSpawn(
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
export function unpinHelpers(pid: number): void {
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    if (tid === String(pid)) continue;
    spawnSync('taskset', ['-p', '-c', `0-${cores - 1}`, tid], { stdio: 'ignore' });
  }
}

export function cpuModel(): string {
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

export function killAll(): void {
  for (const child of children) if (!exited(child)) child.kill('SIGKILL');
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

export function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(
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

export function freePort(): Promise<number> {
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

export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}
