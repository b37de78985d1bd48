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

/** Starts the stack before the file's tests and tears it down after; the fields are set once started. */
export function useFaultStack(options: { onClose?: () => void } = {}): FaultStack {
  const stack = {} as FaultStack;
  beforeAll(async () => {
    stack.redis = await TestRedisServer.start(durableArgs);
    const section: RedisSection = { url: stack.redis.url, prefix: 'faults' };
    stack.relay = await startFaultRelay(section);
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
