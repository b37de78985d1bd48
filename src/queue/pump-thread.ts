import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import type { ProducerMetrics, QueueConfig } from './producer.js';
import { type JobPump, newConsumerName, type PumpJournal, type PumpProgress, stuckReason } from './pump.js';

/** What the pump thread is started with (structured-cloned: plain data only). */
export interface PumpThreadData {
  /** `destinations`: their names, so destination jobs get the delivery backoff (src/queue/queues.ts). */
  readonly config: QueueConfig & { readonly destinations?: readonly { readonly name: string }[] };
  readonly batch: number;
  readonly claimIdleMs: number;
  /** How often the thread sends its status and enqueue counts. */
  readonly reportMs: number;
  /** The pump's consumer name: the same for every thread this relay starts (see PumpOptions.consumer). */
  readonly consumer: string;
}

export type ToPump = { t: 'stop'; timeoutMs: number };
export type ToMain =
  | { t: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; obj: object; msg: string }
  | { t: 'observed'; length: number }
  | { t: 'enqueued'; counts: Array<{ channel: string; type: string; n: number }> }
  | { t: 'status'; progress: PumpProgress; jobs: number }
  | { t: 'stopped'; jobs: number };

/**
 * The compiled worker script. Under the test runner this module is TypeScript and a worker thread
 * cannot load a .ts file, so it uses the build of the same source (`npm test` builds first).
 */
function workerScript(): URL {
  const beside = new URL('./pump-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL('../../dist/src/queue/pump-worker.js', import.meta.url);
}

export interface PumpThreadOptions extends Omit<PumpThreadData, 'reportMs' | 'consumer'> {
  readonly journal: PumpJournal;
  readonly metrics: ProducerMetrics & {
    readonly enqueued: { inc(labels: { channel: string; type: string }, n: number): void };
  };
  readonly log: Logger;
  /** No progress for this long, with entries waiting: `/readyz` says the pump is stuck. */
  readonly stuckAfterMs?: number;
  /** Default 500 ms. */
  readonly reportMs?: number;
  /** Wait before starting a new thread after one died. Default 1 s. */
  readonly restartMs?: number;
}

/**
 * Runs the journal pump in a worker thread and stands in for it on the main thread: its backlog
 * readings go to the journal (for the 503 bound), its counts to the metrics, its log lines to the
 * relay's logger (redaction included), its problems to `/readyz`. A thread that dies is started
 * again; what it left unacknowledged stays in the journal and is read again (pending entries
 * first), so nothing is lost, and dedupe by event id makes nothing twice.
 */
export class PumpThread implements JobPump {
  readonly #o: PumpThreadOptions;
  readonly #reportMs: number;
  /** One consumer name for every thread: a replacement re-reads what the dead one left pending. */
  readonly #consumer = newConsumerName();
  #worker: Worker | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stopping = false;
  /** Why the last thread ended, until a new one reports. */
  #problem: string | undefined;
  #progress: PumpProgress = { at: Date.now() };
  #lastReport = Date.now();
  #jobs = 0;
  #restarts = 0;

  constructor(options: PumpThreadOptions) {
    this.#o = options;
    this.#reportMs = options.reportMs ?? 500;
  }

  /** The consumer name every thread of this pump reads the journal under. */
  get consumer(): string {
    return this.#consumer;
  }

  /** The running thread (its threadId, resourceLimits, performance), for inspection. */
  get thread(): Worker | undefined {
    return this.#worker;
  }

  /** Jobs the pump threads made (or found already there), as of their last report. */
  get jobs(): number {
    return this.#jobs;
  }

  get restarts(): number {
    return this.#restarts;
  }

  start(): void {
    if (this.#worker || this.#stopping) return;
    const { journal, metrics, log, restartMs = 1000 } = this.#o;
    const data: PumpThreadData = {
      config: this.#o.config,
      batch: this.#o.batch,
      claimIdleMs: this.#o.claimIdleMs,
      reportMs: this.#reportMs,
      consumer: this.#consumer,
    };
    const worker = new Worker(workerScript(), { workerData: data, name: 'relay-journal-pump' });
    this.#worker = worker;
    let jobsBefore = this.#jobs;
    this.#lastReport = Date.now();
    worker.on('message', (m: ToMain) => {
      this.#lastReport = Date.now();
      switch (m.t) {
        case 'log':
          log[m.level](m.obj, m.msg);
          break;
        case 'observed':
          journal.observed(m.length);
          break;
        case 'enqueued':
          for (const { channel, type, n } of m.counts) metrics.enqueued.inc({ channel, type }, n);
          break;
        case 'status':
          this.#progress = m.progress;
          this.#problem = undefined;
          this.#jobs = jobsBefore + m.jobs;
          break;
        case 'stopped':
          this.#jobs = jobsBefore + m.jobs;
          break;
      }
    });
    worker.on('error', (err) => {
      this.#problem = `journal pump thread failed: ${err.message}`;
      log.error({ err }, 'bug: the journal pump thread failed; its entries stay in the journal');
    });
    this.#exited = new Promise((resolve) => {
      worker.once('exit', (code) => {
        this.#worker = undefined;
        jobsBefore = this.#jobs;
        resolve();
        if (this.#stopping) return;
        this.#restarts++;
        this.#problem ??= `journal pump thread exited (code ${code})`;
        log.warn({ code, restartMs }, 'journal pump thread exited; starting a new one');
        setTimeout(() => this.start(), restartMs).unref();
      });
    });
  }

  problem(): string | undefined {
    if (!this.#stopping && !this.#worker) return this.#problem ?? 'journal pump thread not running';
    if (this.#problem) return this.#problem;
    const now = Date.now();
    const silent = now - this.#lastReport;
    // A thread whose event loop is stuck cannot say so itself.
    if (this.#worker && silent > Math.max(10_000, 20 * this.#reportMs))
      return `journal pump thread silent for ${Math.round(silent / 1000)} s`;
    return stuckReason(this.#progress, this.#o.journal.backlog, now, this.#o.stuckAfterMs);
  }

  async stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    const worker = this.#worker;
    if (!worker) return;
    worker.postMessage({ t: 'stop', timeoutMs } satisfies ToPump);
    // The thread drains until its deadline; past that (and a grace for closing), it is ended.
    const deadline = setTimeout(() => void worker.terminate(), timeoutMs + 2000);
    await this.#exited;
    clearTimeout(deadline);
  }
}
