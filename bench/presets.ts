/**
 * `node dist/bench/presets.js`: what verifying one request costs per sender preset, next to the
 * floor (one createHmac over the body and one timingSafeEqual, no parsing). A micro-benchmark of
 * the verifier alone (no HTTP, no Redis), single-threaded, 1 KB body, one secret; ns per request.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { presets } from '../src/verify/presets/index.js';
import type { PresetInput } from '../src/verify/presets/types.js';

const secret = 'bench-secret-0123456789abcdef';
const whsec = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const body = Buffer.from(`{"id":"evt_1","type":"invoice.paid","pad":"${'x'.repeat(960)}"}`);
const now = Date.now();
const iterations = Number(process.env.ITERATIONS ?? 100_000);

/** CPU time per call (not wall time: on a shared machine other processes take the core away). */
function time(fn: () => unknown): number {
  for (let i = 0; i < 5000; i++) fn();
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) fn();
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / iterations;
}

const expected = createHmac('sha256', secret).update(body).digest('hex');
const cases = new Map<string, () => unknown>([
  [
    'floor (createHmac + timingSafeEqual)',
    () => {
      const provided = Buffer.from(expected);
      const mine = Buffer.from(createHmac('sha256', secret).update(body).digest('hex'));
      return provided.length === mine.length && timingSafeEqual(provided, mine);
    },
  ],
]);
for (const name of ['github', 'stripe', 'svix', 'paddle', 'hubspot', 'twitch', 'box']) {
  const preset = presets.get(name);
  if (!preset?.sign) continue;
  const creds = { secrets: [name === 'svix' ? whsec : secret], publicKeys: [] };
  const url = 'https://relay.example.com/webhook/bench/hook';
  const headers: IncomingHttpHeaders = preset.sign(creds, body, now, url);
  const input: PresetInput = {
    method: 'POST',
    url,
    headers,
    query: new URLSearchParams(),
    body,
    mediaType: 'application/json',
  };
  if (!preset.verify(input, creds, now).ok) throw new Error(`${name}: its own signature does not verify`);
  cases.set(name, () => preset.verify(input, creds, now));
}

// The machine is shared: rounds interleave the cases and the best round of each is kept.
const best = new Map<string, number>();
for (let round = 0; round < 7; round++)
  for (const [name, fn] of cases)
    best.set(name, Math.min(best.get(name) ?? Number.POSITIVE_INFINITY, time(fn)));
const floor = best.values().next().value as number;
for (const [name, ns] of best)
  console.log(`${name.padEnd(38)} ${ns.toFixed(0).padStart(6)} ns  (${(ns / floor).toFixed(2)}x floor)`);
