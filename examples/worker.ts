/**
 * The smallest useful worker: prints every event the relay queues.
 *   npm run worker          (REDIS_URL, RELAY_QUEUE, RELAY_PREFIX override the defaults)
 */
import { createWorker } from '../src/queue/worker.js';

const worker = createWorker(
  async (event) => {
    const m = event.data.message;
    const summary = m?.text ?? JSON.stringify(event.data.payload).slice(0, 120);
    process.stdout.write(
      `${event.receivedat}  ${event.type}  ${event.source}  ${event.subject ?? ''}  ${summary}\n`,
    );
  },
  {
    queue: process.env.RELAY_QUEUE ?? 'relay-events',
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    prefix: process.env.RELAY_PREFIX ?? 'relay',
  },
);
worker.on('failed', (job, err) => process.stderr.write(`failed ${job?.id}: ${err.message}\n`));
process.stdout.write(`worker listening on ${process.env.RELAY_QUEUE ?? 'relay-events'}\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void worker.close().then(() => process.exit(0));
  });
}
