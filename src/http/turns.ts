/** Starts in a turn that accepted a connection: more may wait in the accept queue, keep the turn short. */
const PER_TURN_ACCEPTING = 2;
/** Starts in any other turn: enough to batch Redis round trips, few enough to keep timers on time. */
const PER_TURN = 64;

/**
 * Keeps the event loop's turns short while new connections arrive, so that a busy relay accepts
 * them at once.
 *
 * libuv accepts one connection per loop turn (libuv#3696, in Node 20 and later). When a turn starts
 * the work of every request that has arrived, a saturated relay's turns grow with its open
 * connections, and a sender opening a new connection waits in the kernel's accept queue, where no
 * in-flight bound sees it: measured at 400 connections on one core, 20 to 80 ms a turn, one accept
 * each, and answers up to 8 s late. Requests start here in arrival order: a few per turn after a
 * turn that accepted a connection (more may be waiting to be accepted), many per turn otherwise
 * (keep-alive traffic, batched). A request that has waited longer than `maxWaitMs` is not started:
 * its caller answers 503 at once rather than late.
 */
export class Turns {
  #queue: Array<{ readonly at: number; readonly go: (started: boolean) => void }> = [];
  #head = 0;
  #scheduled = false;
  #accepted = false;
  #lastWarned = Number.NEGATIVE_INFINITY;

  constructor(
    readonly maxWaitMs: number,
    /** Told at most once per 10 s that requests are being refused, with how many wait. */
    private readonly onLate?: (waiting: number) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Requests waiting for their turn. */
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  /** The server accepted a connection in this turn (its 'connection' event). */
  accepted(): void {
    this.#accepted = true;
  }

  /** Resolves true when the request may start, false when it waited too long (answer 503). */
  next(): Promise<boolean> {
    return new Promise((go) => {
      this.#queue.push({ at: this.now(), go });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#turn);
      }
    });
  }

  #turn = (): void => {
    const now = this.now();
    const perTurn = this.#accepted ? PER_TURN_ACCEPTING : PER_TURN;
    this.#accepted = false;
    // A refusal costs a fraction of a start: a turn refuses up to four times as many as it starts.
    let work = 0;
    while (this.#head < this.#queue.length && work < perTurn) {
      const waiter = this.#queue[this.#head++];
      if (!waiter) break;
      const started = now - waiter.at <= this.maxWaitMs;
      work += started ? 1 : 0.25;
      if (!started && now - this.#lastWarned >= 10_000) {
        this.#lastWarned = now;
        this.onLate?.(this.waiting);
      }
      waiter.go(started);
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
      this.#scheduled = false;
      return;
    }
    if (this.#head > 1024) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    setImmediate(this.#turn);
  };
}
