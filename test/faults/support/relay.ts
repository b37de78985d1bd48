import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { type RelayProcess, startRelayProcess, writeConfig } from '../../support/process.js';
import { triggerConfig } from './load.js';

export type RedisSection =
  | { url: string; prefix: string }
  | { sentinels: Array<{ host: string; port: number }>; name: string; prefix: string; minReplicas?: number }
  | { cluster: Array<{ host: string; port: number }>; prefix: string };

export interface FaultRelay {
  readonly proc: RelayProcess;
  readonly url: string;
  readonly opsUrl: string;
  /** Resident set size of the relay process, in MiB (Linux /proc). */
  rssMiB(): number;
  /** SIGTERM, then the exit code (SIGKILL after 15 s so a test never leaves it behind). */
  stop(): Promise<number | null>;
}

/** `relay start` as a real process, with the HMAC load trigger and generous rate limits. */
export async function startFaultRelay(
  redis: RedisSection,
  extra: Record<string, unknown> = {},
): Promise<FaultRelay> {
  const config = writeConfig({
    server: {
      port: 0,
      opsPort: 0,
      host: '127.0.0.1',
      opsHost: '127.0.0.1',
      // The suite measures the pipeline, not the limiter: every request must reach it.
      rateLimit: { failedAuthMax: 10_000_000 },
    },
    redis,
    channels: { webhook: [triggerConfig] },
    ...extra,
  });
  const proc = await startRelayProcess(['--config', config], { LOG_LEVEL: 'info' });
  return {
    proc,
    url: proc.publicUrl,
    opsUrl: proc.opsUrl,
    rssMiB() {
      const status = readFileSync(`/proc/${proc.child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
    },
    async stop() {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.child.exitCode;
      proc.child.kill('SIGTERM');
      const force = setTimeout(() => proc.child.kill('SIGKILL'), 15_000);
      const code = await proc.exited;
      clearTimeout(force);
      return code;
    },
  };
}

/** Looks jobs up from the outside, through BullMQ, on whichever Redis shape the relay used. */
export class JobChecker {
  readonly #connection: Redis | Cluster;
  readonly #queue: Queue;
  constructor(redis: RedisSection, queueName = 'relay-events') {
    this.#connection =
      'cluster' in redis
        ? new Cluster(redis.cluster, { redisOptions: { maxRetriesPerRequest: null } })
        : 'sentinels' in redis
          ? new Redis({ sentinels: redis.sentinels, name: redis.name, maxRetriesPerRequest: null })
          : new Redis(redis.url, { maxRetriesPerRequest: null });
    this.#connection.on('error', () => {});
    this.#queue = new Queue(queueName, { connection: this.#connection, prefix: redis.prefix });
    this.#queue.on('error', () => {});
  }

  /** The ids that are not jobs, after waiting up to `waitMs` for them (a relay may queue asynchronously). */
  async missing(ids: readonly string[], waitMs = 20_000): Promise<string[]> {
    const deadline = Date.now() + waitMs;
    let missing = [...new Set(ids)];
    for (;;) {
      const still: string[] = [];
      for (let i = 0; i < missing.length; i += 200) {
        const chunk = missing.slice(i, i + 200);
        const jobs = await Promise.all(chunk.map((id) => this.#queue.getJob(id)));
        chunk.forEach((id, j) => {
          if (!jobs[j]) still.push(id);
        });
      }
      missing = still;
      if (missing.length === 0 || Date.now() > deadline) return missing;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Every job id in the queue, any state. */
  async allIds(): Promise<string[]> {
    const states = ['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized'] as const;
    const jobs = await this.#queue.getJobs([...states], 0, -1);
    return jobs.flatMap((j) => (j?.id ? [j.id] : []));
  }

  get connection(): Redis | Cluster {
    return this.#connection;
  }

  async close(): Promise<void> {
    await this.#queue.close();
    this.#connection.disconnect();
  }
}
