import { defineConfig } from 'vitest/config';

// The fault suite starts its own Redis servers (standalone, Cluster, Sentinel) and relay processes and
// loads both cores: one file at a time, with room for failovers and request timeouts.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
