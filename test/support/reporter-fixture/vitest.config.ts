import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** A tiny project for test/summary-reporter.test.ts: one file of each way a file can fail. */
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['*.fixture.ts'],
    pool: 'forks',
    reporters: [fileURLToPath(new URL('../summary-reporter.ts', import.meta.url))],
  },
});
