import { relative } from 'node:path';
import type { SerializedError } from 'vitest';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with one plain line, `tests: N passed, N failed, N skipped`, that any CI can read.
 * A file that failed outside its tests (it could not be imported, a beforeAll or afterAll threw, so
 * its tests were skipped or never collected) counts as one failure, and so does an unhandled error:
 * whenever vitest exits 1, the line says so. Such failures are named above the line.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError> = [],
  ): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const outside: string[] = [];
    for (const mod of testModules) {
      let failedTests = 0;
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedTests++;
        else skipped++;
      }
      failed += failedTests;
      if (mod.state() === 'failed' && failedTests === 0) {
        failed++;
        // The module's own errors (an import that threw), or a suite's (a beforeAll/afterAll that threw).
        const [error] = [mod, ...mod.children.allSuites()].flatMap((s) => s.errors());
        const why = error?.message ?? 'failed outside its tests';
        outside.push(`${relative(process.cwd(), mod.moduleId)}: ${firstLine(why)}`);
      }
    }
    for (const err of unhandledErrors) {
      failed++;
      outside.push(`unhandled error: ${firstLine(err.message ?? String(err))}`);
    }
    const details = outside.map((line) => `failed outside a test: ${line}\n`).join('');
    process.stdout.write(`\n${details}tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}

const firstLine = (text: string): string => text.split('\n')[0] ?? '';
