/**
 * What one bench run holds: the control Redis connection, the work directory, and the Redis
 * prefixes it used. Everything is cleaned up at the end, on error and on Ctrl-C.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { note, redisUrl } from './options.js';
import { killAll } from './processes.js';

const usedPrefixes = new Set<string>();
let controlClient: Redis | undefined;
let workDir: string | undefined;
let keepWorkDir = false;
let interrupted = false;

export async function openSession(): Promise<{ control: Redis; workDir: string }> {
  const control = new Redis(redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 3000, lazyConnect: true });
  control.on('error', () => {});
  await control.connect();
  await control.ping();
  controlClient = control;
  workDir = mkdtempSync(join(tmpdir(), 'relay-bench-'));
  return { control, workDir };
}

export function control(): Redis {
  if (!controlClient) throw new Error('bench session not open');
  return controlClient;
}

/** Keep the work directory (logs, configs, profiles) after the run: something failed or a profile is in it. */
export function keepLogs(): void {
  keepWorkDir = true;
}

export const isInterrupted = () => interrupted;

/** A fresh Redis prefix under which a run's keys live; removed by `cleanupKeys` or at the end. */
export function usePrefix(prefix: string): string {
  usedPrefixes.add(prefix);
  return prefix;
}

export async function cleanupKeys(prefix: string): Promise<number> {
  const c = controlClient;
  if (!c) return 0;
  let removed = 0;
  let cursor = '0';
  do {
    const [next, keys] = await c.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 2000);
    cursor = next;
    if (keys.length > 0) removed += await c.unlink(...keys);
  } while (cursor !== '0');
  usedPrefixes.delete(prefix);
  return removed;
}

export async function cleanupAll(): Promise<void> {
  killAll();
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, 15_000).unref());
  await Promise.race([
    (async () => {
      for (const prefix of [...usedPrefixes]) await cleanupKeys(prefix).catch(() => {});
    })(),
    deadline,
  ]);
  controlClient?.disconnect();
  if (workDir && !keepWorkDir) rmSync(workDir, { recursive: true, force: true });
  else if (workDir) note(`bench: logs kept in ${workDir}`);
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

/** Jobs in a BullMQ queue, every state. */
export async function countJobs(prefix: string, queueName: string): Promise<number> {
  const queue = new Queue(queueName, { connection: control(), prefix, skipWaitingForReady: true });
  try {
    const counts = await queue.getJobCounts();
    return Object.values(counts).reduce((a, b) => a + b, 0);
  } finally {
    await queue.close();
  }
}
