/**
 * One partner's share of one vendor's API: requests in flight, requests per rolling window, and a
 * pause after the vendor said "too many". Shared by every call the partner's clients make on a
 * worker (clients/partner-clients.ts), so a retry storm of many activities cannot spend the
 * MSP's quota. Knows nothing of Temporal.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { VendorSystem } from './http.ts';

export interface RequestWindow {
  requests: number;
  windowMs: number;
}

export interface VendorLimits {
  /** Requests in flight at once. */
  concurrency: number;
  /** At most this many requests in any rolling window; none where the vendor publishes no number. */
  window?: RequestWindow;
  /** How long to hold back after a rate-limit answer that carries no `Retry-After`. */
  defaultRetryAfterMs: number;
  /**
   * A wait up to this long (a pause the vendor asked for, a full window) is waited out inside the
   * call; a longer one fails the call at once, unsent, as `rate-limited` with the wait as its
   * `retryAfterMs`, so the caller (a Temporal retry) comes back when the budget allows.
   */
  maxInlineWaitMs: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/**
 * The vendors' published thresholds (../shared/reference/psa-apis.md, acronis-api.md), and the share
 * the engine takes of them.
 */
export const VENDOR_LIMITS: Readonly<Record<VendorSystem, Readonly<VendorLimits>>> = {
  // 10,000 requests per rolling hour per database, shared with every other integration and the
  // MSP's own scripts; from 50 % of it Autotask slows every call of the database by 0.5 s (1 s from
  // 75 %), so the engine keeps to half and never causes that latency. The thread limit (3 in flight
  // per endpoint and integration code) is kept by the Autotask client itself. Without Retry-After,
  // integrators wait 60 s.
  autotask: { concurrency: 10, window: { requests: 5_000, windowMs: HOUR_MS }, defaultRetryAfterMs: 60_000, maxInlineWaitMs: 10_000 },
  // Throttling starts at about 1,000 requests per minute ("keep well under"): half of it. ConnectWise
  // suggests 30 s before retrying a 429 without Retry-After.
  'connectwise-manage': { concurrency: 10, window: { requests: 500, windowMs: MINUTE_MS }, defaultRetryAfterMs: 30_000, maxInlineWaitMs: 10_000 },
  // No published numbers: 429 with Retry-After per IP or when overloaded. Bounded concurrency only.
  acronis: { concurrency: 10, defaultRetryAfterMs: 5_000, maxInlineWaitMs: 10_000 },
  // No documented limits; hosted servers may throttle.
  'connectwise-automate': { concurrency: 5, defaultRetryAfterMs: 30_000, maxInlineWaitMs: 10_000 },
};

const now = () => performance.now();

/** The wait before the next request may go is longer than `maxInlineWaitMs`: nothing was sent. */
export class RequestHeldBack extends Error {
  readonly waitMs: number;

  constructor(waitMs: number) {
    super(`held back: the request budget allows the next request in ${Math.ceil(waitMs / 1000)} s`);
    this.waitMs = waitMs;
  }
}

export class RequestLimiter {
  readonly limits: Readonly<VendorLimits>;
  #active = 0;
  readonly #slotWaiters: (() => void)[] = [];
  /** Requests sent and not yet answered: they count in the window until they are. */
  #unanswered = 0;
  /** When each request of the window was answered, oldest first. */
  readonly #answeredAt: number[] = [];
  #answerWaiters: (() => void)[] = [];
  #pausedUntil = 0;

  constructor(limits: Readonly<VendorLimits>) {
    if (!(limits.concurrency >= 1)) throw new RangeError('a concurrency limit is at least 1');
    if (limits.window && !(limits.window.requests >= 1 && limits.window.windowMs > 0)) throw new RangeError('a request window allows at least 1 request in a positive time');
    this.limits = limits;
  }

  /** Holds every request back for `ms` from now (a vendor's `Retry-After`); a longer pause already running stays. */
  pauseFor(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, now() + ms);
  }

  /**
   * Runs `send` once a slot is free, the pause is over and the window has room. A request counts in
   * the window from when it is sent until a window's length after its answer, so the vendor, which
   * counts arrivals, never sees more than the window allows in any window. Throws `RequestHeldBack`,
   * unsent, when that would take longer than `maxWaitMs` (by default the limits' `maxInlineWaitMs`).
   */
  async run<T>(send: () => Promise<T>, signal?: AbortSignal, maxWaitMs = this.limits.maxInlineWaitMs): Promise<T> {
    this.#waitMs(maxWaitMs);
    await this.#takeSlot(signal);
    try {
      for (;;) {
        const wait = this.#waitMs(maxWaitMs);
        if (wait > 0) await sleep(wait, undefined, { signal });
        else if (this.#windowFull()) await this.#nextAnswer(signal);
        else break;
      }
      this.#unanswered++;
      try {
        return await send();
      } finally {
        this.#unanswered--;
        if (this.limits.window) this.#answeredAt.push(now());
        for (const wake of this.#answerWaiters.splice(0)) wake();
      }
    } finally {
      this.#active--;
      this.#slotWaiters.shift()?.();
    }
  }

  /** The wait before the next request may go, as far as is known without waiting for answers; throws when it is too long to wait here. */
  #waitMs(maxWaitMs: number): number {
    const wait = Math.max(0, this.#pausedUntil - now(), this.#windowWaitMs());
    if (wait > maxWaitMs) throw new RequestHeldBack(wait);
    return wait;
  }

  async #takeSlot(signal: AbortSignal | undefined): Promise<void> {
    while (this.#active >= this.limits.concurrency) {
      signal?.throwIfAborted();
      await abortable(signal, (wake) => this.#slotWaiters.push(wake), (wake) => remove(this.#slotWaiters, wake));
    }
    this.#active++;
  }

  #nextAnswer(signal: AbortSignal | undefined): Promise<void> {
    return abortable(signal, (wake) => this.#answerWaiters.push(wake), (wake) => remove(this.#answerWaiters, wake));
  }

  #inWindow(): number {
    const window = this.limits.window;
    if (!window) return 0;
    const since = now() - window.windowMs;
    while (this.#answeredAt.length > 0 && (this.#answeredAt[0] ?? 0) <= since) this.#answeredAt.shift();
    return this.#unanswered + this.#answeredAt.length;
  }

  #windowFull(): boolean {
    return this.limits.window !== undefined && this.#inWindow() >= this.limits.window.requests;
  }

  /** Until the oldest answered request leaves the window, when the window is full and one has been answered; else 0. */
  #windowWaitMs(): number {
    const window = this.limits.window;
    if (!window || this.#inWindow() < window.requests) return 0;
    const oldest = this.#answeredAt[0];
    return oldest === undefined ? 0 : oldest + window.windowMs - now() + 1;
  }
}

function remove(waiters: (() => void)[], wake: () => void): void {
  const index = waiters.indexOf(wake);
  if (index >= 0) waiters.splice(index, 1);
}

/** Waits until `register`ed callback is called, or rejects with the signal's reason (unregistering). */
function abortable(signal: AbortSignal | undefined, register: (wake: () => void) => void, unregister: (wake: () => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      unregister(wake);
      reject(signal?.reason as Error);
    };
    const wake = () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    if (signal?.aborted) return reject(signal.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
    register(wake);
  });
}
