import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { acceptedIds, histogram, runLoad, signedRequest, triggerPath } from './support/load.js';
import { ackModes, useFaultStack } from './support/stack.js';

/**
 * A request truly in flight at SIGTERM: headers and half the body sent before the signal, the rest
 * after it. It must still be answered, not reset.
 */
function slowUpload(
  url: string,
  n: number,
  signalled: Promise<void>,
): Promise<{ status: number; ids: string[] }> {
  const { body, headers } = signedRequest(n);
  const half = Math.floor(body.length / 2);
  return new Promise((resolve, reject) => {
    const req = request(`${url}${triggerPath}`, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d) => {
        text += String(d);
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          ids: res.statusCode === 202 ? (JSON.parse(text) as { ids: string[] }).ids : [],
        }),
      );
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.write(body.slice(0, half));
    void signalled.then(() => setTimeout(() => req.end(body.slice(half)), 300));
  });
}

describe.each(ackModes)('SIGTERM under load (%s)', (_mode, relayConfig) => {
  const stack = useFaultStack({ relay: relayConfig });

  it('answers the requests in flight, queues every 2xx, and exits 0 within 10 s', async () => {
    let signalledAt = 0;
    let release = () => {};
    const signalled = new Promise<void>((r) => {
      release = r;
    });
    const load = runLoad({
      url: stack.relay.url,
      concurrency: 16,
      // Keep sending past the signal: requests after the listener closed are refused, not lost.
      stop: () => signalledAt > 0 && Date.now() - signalledAt > 1500,
    });
    await new Promise((r) => setTimeout(r, 1000));
    const uploads = Array.from({ length: 4 }, (_, i) =>
      slowUpload(stack.relay.url, 1_000_000 + i, signalled),
    );
    await new Promise((r) => setTimeout(r, 200));

    signalledAt = Date.now();
    stack.relay.proc.child.kill('SIGTERM');
    release();
    const code = await stack.relay.proc.exited;
    const tookMs = Date.now() - signalledAt;
    const outcomes = await load;
    const slow = await Promise.all(uploads);

    const answered = outcomes.filter((o) => o.status > 0);
    const errors = outcomes.filter((o) => o.status <= 0);
    const resetBefore = errors.filter((o) => o.startedAt < signalledAt);
    console.info('sigterm', {
      exitMs: tookMs,
      summary: histogram(outcomes),
      slow: slow.map((s) => s.status),
      resetStartedBeforeSignal: resetBefore.map((o) => [o.error, signalledAt - o.startedAt]),
    });

    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(10_000);
    expect(stack.relay.proc.stdout.some((l) => l.includes('"stopped"'))).toBe(true);
    expect(slow.map((s) => s.status)).toEqual([202, 202, 202, 202]);
    expect(answered.filter((o) => o.status !== 202 && o.status !== 503)).toEqual([]);
    // Requests sent before the signal were answered; only later ones may find the door shut (20 ms
    // of grace: bytes written as the signal lands may not have reached the server yet).
    expect(resetBefore.filter((o) => o.startedAt < signalledAt - 20)).toEqual([]);
    expect(errors.filter((o) => o.status === 0)).toEqual([]);

    const accepted = [...acceptedIds(outcomes), ...slow.flatMap((s) => s.ids)];
    expect(accepted.length).toBeGreaterThan(100);
    // The relay is gone: whatever is not a job now (the journal drained before exit) never will be.
    expect(await stack.jobs.missing(accepted, 0)).toEqual([]);
  });
});
