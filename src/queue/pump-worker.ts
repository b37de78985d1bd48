/*
 * The journal pump's own thread (queue.journal.pump: thread): the same `Pump` and `Producer` as in
 * the main thread, on connections of its own, so BullMQ's job building (JSON, msgpack, scripts)
 * runs beside the request path instead of on it. It reports to `PumpThread` by message only.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../errors.js';
import { createRedis } from '../redis/connection.js';
import { replicaFenceFor } from '../redis/replicas.js';
import { journalKey } from './journal.js';
import { Producer } from './producer.js';
import { Pump, type PumpLog } from './pump.js';
import type { PumpThreadData, ToMain, ToPump } from './pump-thread.js';
import { QueueSet } from './queues.js';

const port = parentPort;
if (!port) throw new Error('pump-worker.js runs as a worker thread (PumpThread), not on its own');
const data = workerData as PumpThreadData;
const post = (message: ToMain) => port.postMessage(message);

const log: PumpLog = {
  info: (obj, msg) => post({ t: 'log', level: 'info', obj, msg }),
  warn: (obj, msg) => post({ t: 'log', level: 'warn', obj, msg }),
  error: (obj, msg) => post({ t: 'log', level: 'error', obj, msg }),
};
const quiet = (err: Error) =>
  post({ t: 'log', level: 'debug', obj: { err: err.message }, msg: 'redis connection error' });

const jobsRedis = createRedis(data.config.redis, 'producer', 'relay-pump-jobs');
const pumpRedis = createRedis(data.config.redis, 'blocking', 'relay-pump');
const fencing = replicaFenceFor(data.config.redis);
for (const r of [jobsRedis, pumpRedis, fencing?.connection]) r?.on('error', quiet);

// Counted here, added to the relay's relay_events_enqueued_total by the main thread.
const tally = new Map<string, number>();
const queues = new QueueSet(jobsRedis, data.config);
const producer = new Producer(
  queues,
  data.config,
  {
    enqueued: {
      inc: ({ channel, type }) => {
        const key = `${channel}\n${type}`;
        tally.set(key, (tally.get(key) ?? 0) + 1);
      },
    },
    enqueueSeconds: { startTimer: () => () => undefined },
  },
  fencing?.fence,
);
const journal = {
  key: journalKey(data.config.redis.prefix),
  backlog: 0,
  observed(length: number) {
    this.backlog = length;
    post({ t: 'observed', length });
  },
};
const pump = new Pump({
  redis: pumpRedis,
  journal,
  producer,
  log,
  batch: data.batch,
  claimIdleMs: data.claimIdleMs,
  consumer: data.consumer,
});

function report(): void {
  if (tally.size > 0) {
    post({
      t: 'enqueued',
      counts: [...tally].map(([key, n]) => {
        const [channel = '', type = ''] = key.split('\n');
        return { channel, type, n };
      }),
    });
    tally.clear();
  }
  post({ t: 'status', progress: pump.progress, jobs: pump.jobs });
}
const reporting = setInterval(report, data.reportMs);

port.on('message', (message: ToPump) => {
  if (message.t !== 'stop') return;
  (async () => {
    await pump.stop(message.timeoutMs);
    clearInterval(reporting);
    report();
    await queues.close();
    for (const r of [jobsRedis, pumpRedis, fencing?.connection]) await r?.quit().catch(() => r.disconnect());
  })()
    .catch((err: unknown) =>
      log.error({ err: errorMessage(err) }, 'journal pump thread: error while stopping'),
    )
    .finally(() => {
      post({ t: 'stopped', jobs: pump.jobs });
      port.close();
    });
});

pump.start();
report();
