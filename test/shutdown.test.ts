import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startRelayProcess, writeConfig } from './support/process.js';
import { redisUrl, uniquePrefix } from './support/relay.js';

const prefix = uniquePrefix('sigterm');
const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
const queue = new Queue('relay-events', { connection, prefix });

afterAll(async () => {
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  await connection.quit();
});

describe('SIGTERM with requests in flight', () => {
  it('answers what it accepted, loses none of the 2xx, and exits 0 within 10 s', async () => {
    const config = writeConfig({
      server: { port: 0, opsPort: 0, host: '127.0.0.1', opsHost: '127.0.0.1' },
      redis: { url: redisUrl, prefix },
      channels: {
        webhook: [{ group: 'load', trigger: 'in', auth: { scheme: 'token', token: 'sigterm-token-1' } }],
      },
    });
    const relay = await startRelayProcess(['--config', config]);
    const accepted: string[] = [];
    const statuses: number[] = [];
    let sent = 0;
    let stoppedAt = 0;
    const sender = async () => {
      for (;;) {
        if (stoppedAt && Date.now() - stoppedAt > 1500) return;
        sent++;
        try {
          const res = await fetch(`${relay.publicUrl}/webhook/load/in`, {
            method: 'POST',
            body: JSON.stringify({ n: sent, pad: 'x'.repeat(500) }),
            headers: { 'content-type': 'application/json', authorization: 'Bearer sigterm-token-1' },
          });
          statuses.push(res.status);
          if (res.status === 202) accepted.push(...((await res.json()) as { ids: string[] }).ids);
        } catch {
          // Refused once the server stopped listening: the client knows it was not accepted.
          if (stoppedAt) return;
        }
      }
    };
    const senders = Array.from({ length: 16 }, sender);
    await new Promise((r) => setTimeout(r, 500));
    stoppedAt = Date.now();
    relay.child.kill('SIGTERM');
    const code = await relay.exited;
    const tookMs = Date.now() - stoppedAt;
    await Promise.all(senders);

    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(10_000);
    expect(accepted.length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    const jobIds = new Set((await queue.getJobs(['waiting'], 0, -1)).map((j) => j.id));
    const missing = accepted.filter((id) => !jobIds.has(id));
    expect(missing).toEqual([]);
    expect(relay.stdout.some((l) => l.includes('"stopped"'))).toBe(true);
  });
});
