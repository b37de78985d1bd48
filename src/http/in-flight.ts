import { Gauge, type Registry } from 'prom-client';
import type { Turns } from './turns.js';

/**
 * The public port's bound on its own work (`server.maxInFlight`): requests whose body has arrived
 * and that are being verified and queued. Past it a request is answered 503 + Retry-After at once,
 * instead of joining a queue whose answers would come after the sender gave up (Slack: 3 s).
 * Counted only once the body is read, so a client sending slowly holds no slot.
 */
export class InFlight {
  #count = 0;
  #lastWarned = 0;

  constructor(
    readonly max: number,
    private readonly onFull?: (count: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get count(): number {
    return this.#count;
  }

  /** Takes a slot; false when all are taken (the caller answers 503 and must not call `leave`). */
  enter(): boolean {
    if (this.#count >= this.max) {
      // One warning per 10 s, not one per refused request.
      const now = this.now();
      if (now - this.#lastWarned >= 10_000) {
        this.#lastWarned = now;
        this.onFull?.(this.#count);
      }
      return false;
    }
    this.#count++;
    return true;
  }

  leave(): void {
    this.#count--;
  }
}

/**
 * `relay_requests_in_flight`, read at scrape time: what to compare with `server.maxInFlight`; and
 * `relay_requests_waiting`: requests read but not yet started (turns.ts).
 */
export function registerInFlightGauge(inFlight: InFlight, turns: Turns, registry: Registry): void {
  new Gauge({
    name: 'relay_requests_in_flight',
    help: 'Public-port requests being verified and queued now (bounded by server.maxInFlight).',
    registers: [registry],
    collect() {
      this.set(inFlight.count);
    },
  });
  new Gauge({
    name: 'relay_requests_waiting',
    help: 'Public-port requests waiting for their turn to start (answered 503 after waiting 1 s).',
    registers: [registry],
    collect() {
      this.set(turns.waiting);
    },
  });
}
