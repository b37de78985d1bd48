import { afterAll, beforeAll } from 'vitest';
import { TestRedisServer } from '../../support/redis-server.js';
import { type FaultRelay, JobChecker, type RedisSection, startFaultRelay } from './relay.js';
import { durableArgs } from './topology.js';

export interface FaultStack {
  /** A Redis of this file's own, with the append-only file fsynced on every write. */
  redis: TestRedisServer;
  /** `relay start` as a process against it, with the HMAC load trigger. */
  relay: FaultRelay;
  /** Reads jobs back through BullMQ. */
  jobs: JobChecker;
}

/**
 * Starts the stack before the tests of the enclosing file or `describe` and tears it down after;
 * the fields are set once started.
 */
export function useFaultStack(
  options: {
    onClose?: () => void /** More relay config, e.g. the ingest journal. */;
    relay?: Record<string, unknown>;
  } = {},
): FaultStack {
  const stack = {} as FaultStack;
  beforeAll(async () => {
    stack.redis = await TestRedisServer.start(durableArgs);
    const section: RedisSection = { url: stack.redis.url, prefix: 'faults' };
    stack.relay = await startFaultRelay(section, options.relay);
    stack.jobs = new JobChecker(section);
  });
  afterAll(async () => {
    options.onClose?.();
    await stack.relay?.stop();
    await stack.jobs?.close();
    await stack.redis?.destroy();
  });
  return stack;
}

/** The two ways a request is acknowledged: each fault that can lose an acknowledged event runs in both. */
export const ackModes = [
  ['jobs before the 2xx', {}],
  ['ingest journal, pump thread', { queue: { journal: { enabled: true } } }],
] as const;
