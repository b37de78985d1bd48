import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, TestRedisServer } from '../../support/redis-server.js';

const run = promisify(execFile);

/** Every node of the fault suite: durable on every write, never evicting (contract: noeviction). */
export const durableArgs = ['--appendfsync', 'always', '--maxmemory-policy', 'noeviction'];

/** Polls `check` every 100 ms until it is true; throws `what` after `timeoutMs`. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One command on a throw-away connection. */
export async function command(port: number, ...args: string[]): Promise<unknown> {
  const c = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => {});
  try {
    return await c.call(args[0] ?? 'PING', ...args.slice(1));
  } finally {
    c.disconnect();
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function clusterPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await portFree(port)) && (await portFree(port + 10_000))) return port;
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

/** Three masters, no replicas, formed with `redis-cli --cluster create`. */
export class LocalCluster {
  private constructor(readonly nodes: TestRedisServer[]) {}

  static async start(size = 3): Promise<LocalCluster> {
    const nodes: TestRedisServer[] = [];
    try {
      for (let i = 0; i < size; i++) {
        const args = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', ...durableArgs];
        nodes.push(await TestRedisServer.start(args, await clusterPort()));
      }
      const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
      await run('redis-cli', [
        '--cluster',
        'create',
        ...addresses,
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ]);
      for (const node of nodes) {
        await until('cluster_state:ok', async () =>
          String(await command(node.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
        );
      }
      return new LocalCluster(nodes);
    } catch (err) {
      for (const n of nodes) await n.destroy();
      throw err;
    }
  }

  get addresses(): Array<{ host: string; port: number }> {
    return this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) await n.destroy();
  }
}

/** One master, one replica (both AOF always) and three sentinels (quorum 2). */
export class LocalSentinels {
  readonly #sentinels: ChildProcess[] = [];
  readonly #dir = mkdtempSync(join(tmpdir(), 'relay-sentinel-'));
  readonly sentinelPorts: number[] = [];
  private constructor(
    readonly name: string,
    readonly master: TestRedisServer,
    readonly replica: TestRedisServer,
  ) {}

  static async start(name = 'relay-master'): Promise<LocalSentinels> {
    const master = await TestRedisServer.start(durableArgs);
    const replica = await TestRedisServer.start([
      ...durableArgs,
      '--replicaof',
      '127.0.0.1',
      String(master.port),
    ]);
    const set = new LocalSentinels(name, master, replica);
    try {
      await until('the replica in sync', async () =>
        String(await command(replica.port, 'INFO', 'replication')).includes('master_link_status:up'),
      );
      for (let i = 0; i < 3; i++) await set.#startSentinel(i);
      for (const port of set.sentinelPorts) {
        await until('every sentinel to see the replica and the other two', async () => {
          const info = String(await command(port, 'INFO', 'sentinel'));
          return info.includes(`name=${name},status=ok`) && info.includes('slaves=1,sentinels=3');
        });
      }
      return set;
    } catch (err) {
      await set.stop();
      throw err;
    }
  }

  async #startSentinel(i: number): Promise<void> {
    const port = await freePort();
    const conf = join(this.#dir, `sentinel-${i}.conf`);
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${this.#dir}`,
        `sentinel monitor ${this.name} 127.0.0.1 ${this.master.port} 2`,
        `sentinel down-after-milliseconds ${this.name} 1000`,
        `sentinel failover-timeout ${this.name} 10000`,
        `sentinel parallel-syncs ${this.name} 1`,
        '',
      ].join('\n'),
    );
    const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    this.#sentinels.push(child);
    this.sentinelPorts.push(port);
    await until(`sentinel on ${port}`, async () => (await command(port, 'PING')) === 'PONG', 5000);
  }

  get sentinels(): Array<{ host: string; port: number }> {
    return this.sentinelPorts.map((port) => ({ host: '127.0.0.1', port }));
  }

  /** The port every sentinel names as master (undefined while they disagree). */
  async masterPort(): Promise<number | undefined> {
    const ports = new Set<number>();
    for (const port of this.sentinelPorts) {
      const addr = (await command(port, 'SENTINEL', 'get-master-addr-by-name', this.name).catch(
        () => null,
      )) as string[] | null;
      ports.add(Number(addr?.[1]));
    }
    return ports.size === 1 ? [...ports][0] : undefined;
  }

  async stop(): Promise<void> {
    for (const child of this.#sentinels) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    await this.master.destroy();
    await this.replica.destroy();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
