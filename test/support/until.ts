/**
 * Polls `check` until it returns something truthy, and returns that. Tests wait on what they can
 * observe (a job, an ack, a cursor) instead of sleeping a fixed time; `timeoutMs` only bounds a
 * failure, so it is generous for a loaded 2-core machine.
 */
export async function until<T>(
  check: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
