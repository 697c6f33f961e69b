/**
 * The simulated world's time. It runs with real time (so a client sees timestamps move) and can be
 * pushed forward (so a test can make a backup schedule or a grace period pass at once). Every
 * simulator reads time from here, never from `Date.now()`, so all four agree.
 */
export class SimClock {
  #offsetMs = 0;
  #nextTaskId = 1;
  readonly #tasks = new Map<number, { dueMs: number; run: () => void }>();
  #ticker: NodeJS.Timeout | undefined;

  nowMs(): number {
    return Date.now() + this.#offsetMs;
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  /** Moves simulated time forward and runs everything that became due, in due order. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError('the clock only moves forward');
    this.#offsetMs += ms;
    this.runDue();
  }

  /** Runs `run` once simulated time reaches `dueMs`; returns a handle for `cancel`. */
  at(dueMs: number, run: () => void): number {
    const id = this.#nextTaskId++;
    this.#tasks.set(id, { dueMs, run });
    this.#ensureTicker();
    return id;
  }

  after(delayMs: number, run: () => void): number {
    return this.at(this.nowMs() + delayMs, run);
  }

  cancel(id: number): void {
    this.#tasks.delete(id);
  }

  pendingTasks(): number {
    return this.#tasks.size;
  }

  runDue(): void {
    for (;;) {
      const now = this.nowMs();
      let next: [number, { dueMs: number; run: () => void }] | undefined;
      for (const entry of this.#tasks) if (entry[1].dueMs <= now && (!next || entry[1].dueMs < next[1].dueMs)) next = entry;
      if (!next) break;
      this.#tasks.delete(next[0]);
      next[1].run();
    }
    if (this.#tasks.size === 0) this.#stopTicker();
  }

  /** Forgets scheduled work and returns to real time. */
  reset(): void {
    this.#tasks.clear();
    this.#offsetMs = 0;
    this.#stopTicker();
  }

  #ensureTicker(): void {
    if (this.#ticker) return;
    // Real time moves simulated time too; a coarse tick is enough for "after a short delay".
    this.#ticker = setInterval(() => this.runDue(), 100);
    this.#ticker.unref();
  }

  #stopTicker(): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }
}
