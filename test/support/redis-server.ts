import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, beforeEach } from 'vitest';
import type { TestRelay } from './relay.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function ping(url: string): Promise<boolean> {
  const c = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 300,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  c.on('error', () => {});
  try {
    await c.connect();
    return (await c.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    c.disconnect();
  }
}

/** A private redis-server on a free loopback port, for tests that kill, pause or fill Redis. */
export class TestRedisServer {
  #child: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'relay-redis-'));
  private constructor(
    readonly port: number,
    private readonly args: string[],
  ) {}

  /** `port`: a port chosen by the caller (a Cluster node also needs port + 10000 free); default a free one. */
  static async start(extraArgs: string[] = [], port?: number): Promise<TestRedisServer> {
    const server = new TestRedisServer(port ?? (await freePort()), extraArgs);
    await server.startProcess();
    return server;
  }

  /** With `--requirepass` among the arguments, the URL carries that password. */
  get url(): string {
    const at = this.args.indexOf('--requirepass');
    const password = at >= 0 ? this.args[at + 1] : undefined;
    return password
      ? `redis://:${encodeURIComponent(password)}@127.0.0.1:${this.port}`
      : `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async startProcess(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        ...this.args,
      ],
      { stdio: 'ignore' },
    );
    this.#child = child;
    for (let i = 0; i < 100; i++) {
      if (await ping(this.url)) return;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not start on ${this.url}`);
  }

  signal(sig: NodeJS.Signals): void {
    this.#child?.kill(sig);
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    this.#child?.kill('SIGCONT');
    await this.kill();
  }

  /** Stops the server and deletes its data directory (append-only file included). */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A Redis of each test's own, for tests that hang (SIGSTOP) or kill it: started before each test;
 * after it, resumed, the test's relays (pushed to `relays`) closed, and stopped.
 */
export function redisPerTest(relays: TestRelay[]): { readonly redis: TestRedisServer } {
  const own = {} as { redis: TestRedisServer };
  beforeEach(async () => {
    own.redis = await TestRedisServer.start();
  });
  afterEach(async () => {
    own.redis.signal('SIGCONT');
    for (const r of relays.splice(0)) await r.close().catch(() => {});
    await own.redis.stop();
  });
  return own;
}
