import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * The suite's closing line (test/support/summary-reporter.ts) from a real vitest run of a tiny
 * project (test/support/reporter-fixture): one passing file, one failing test, one file whose
 * beforeAll throws (as the dashboard test without a browser) and one that cannot be imported.
 */
const root = new URL('..', import.meta.url);

function runFixture(...filters: string[]): Promise<{ status: number | null; stdout: string }> {
  // The child is a vitest of its own: none of this run's worker settings may leak into it.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'),
  );
  const child = spawn(
    'npx',
    ['vitest', 'run', '--config', 'test/support/reporter-fixture/vitest.config.ts', ...filters],
    { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.resume();
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout }));
  });
}

const closingLine = (stdout: string) => stdout.trim().split('\n').at(-1);

describe('the closing summary line', () => {
  it('counts a file that failed outside its tests as failed, and names it', async () => {
    const run = await runFixture();
    expect(run.status).toBe(1);
    // 1 failing test + the file whose beforeAll threw + the file that could not be imported.
    expect(closingLine(run.stdout)).toBe('tests: 2 passed, 3 failed, 3 skipped');
    expect(run.stdout).toMatch(
      /failed outside a test: \S*before-all-throws\.fixture\.ts: cannot launch the browser/,
    );
    expect(run.stdout).toMatch(
      /failed outside a test: \S*cannot-import\.fixture\.ts: .*a-module-that-is-not-there/,
    );
  }, 60_000);

  it('says 0 failed exactly when vitest exits 0', async () => {
    const run = await runFixture('passes');
    expect(run.status).toBe(0);
    expect(closingLine(run.stdout)).toBe('tests: 2 passed, 0 failed, 1 skipped');
  }, 60_000);

  it('a beforeAll that throws alone is enough to fail the line', async () => {
    const run = await runFixture('before-all-throws');
    expect(run.status).toBe(1);
    expect(closingLine(run.stdout)).toBe('tests: 0 passed, 1 failed, 2 skipped');
  }, 60_000);
});
