/**
 * Autotask's two request limits. The hourly threshold is per database and shared by every
 * integration: latency is added from 50 % and 75 % of it, and past 100 % every call is refused
 * until the rolling hour clears. The thread limit is per (integration code, object endpoint): a
 * request beyond it is refused with `Itgenatr005`, as 429 or (some zones) another status.
 */
import type { SimClock } from '../kit/sim-clock.ts';

export interface LimitSettings {
  /** The threshold: at most this many requests in the rolling window (an hour in production). */
  requestsPerHour: number;
  /**
   * The threshold's rolling window: an hour, as Autotask counts. Shorter only so a benchmark can
   * spend several windows' budget in minutes (bench/billing-limits.ts).
   */
  thresholdWindowSeconds: number;
  concurrentPerEndpoint: number;
  /** Status of a thread-limit refusal: 429, or the non-429 status some zones answer with. */
  threadLimitStatus: number;
  latencyAtHalfMs: number;
  latencyAtThreeQuartersMs: number;
  /** Time every request spends inside the simulator (0 in production terms), so tests can hold requests in flight. */
  processingMs: number;
}

export const DEFAULT_LIMITS: Readonly<LimitSettings> = {
  requestsPerHour: 10_000,
  thresholdWindowSeconds: 3_600,
  concurrentPerEndpoint: 3,
  threadLimitStatus: 429,
  latencyAtHalfMs: 500,
  latencyAtThreeQuartersMs: 1_000,
  processingMs: 0,
};

export type Admission =
  | { admitted: true; delayMs: number; release: () => void }
  | { admitted: false; status: number; message: string; retryAfterSeconds?: number };

export class RequestLimits {
  readonly #clock: SimClock;
  settings: LimitSettings = { ...DEFAULT_LIMITS };
  /** Simulated times of the requests counted in the rolling hour. */
  #window: number[] = [];
  readonly #inFlight = new Map<string, number>();

  constructor(clock: SimClock) {
    this.#clock = clock;
  }

  reset(): void {
    this.settings = { ...DEFAULT_LIMITS };
    this.#window = [];
  }

  /** Requests in the rolling hour (the threshold's window), as `/ThresholdInformation` reports them. */
  usage(): number {
    const since = this.#clock.nowMs() - this.#windowMs();
    while (this.#window.length > 0 && (this.#window[0] ?? 0) <= since) this.#window.shift();
    return this.#window.length;
  }

  #windowMs(): number {
    return this.settings.thresholdWindowSeconds * 1000;
  }

  admit(integrationCode: string, endpoint: string): Admission {
    const key = `${integrationCode.toLowerCase()} ${endpoint.toLowerCase()}`;
    const inFlight = this.#inFlight.get(key) ?? 0;
    const { concurrentPerEndpoint, requestsPerHour } = this.settings;
    if (inFlight >= concurrentPerEndpoint) {
      return {
        admitted: false,
        status: this.settings.threadLimitStatus,
        message: `Itgenatr005: The thread threshold of ${concurrentPerEndpoint} concurrent requests for the ${endpoint} endpoint has been exceeded for this integration. Try again later.`,
      };
    }
    const used = this.usage();
    if (used >= requestsPerHour) {
      const oldest = this.#window[0] ?? this.#clock.nowMs();
      return {
        admitted: false,
        status: 429,
        message: `The external request threshold of ${requestsPerHour} requests per hour has been exceeded for this database. Requests are refused until usage falls below the threshold.`,
        retryAfterSeconds: Math.max(1, Math.ceil((oldest + this.#windowMs() - this.#clock.nowMs()) / 1000)),
      };
    }
    this.#window.push(this.#clock.nowMs());
    this.#inFlight.set(key, inFlight + 1);
    const thresholdDelay = used >= requestsPerHour * 0.75 ? this.settings.latencyAtThreeQuartersMs : used >= requestsPerHour * 0.5 ? this.settings.latencyAtHalfMs : 0;
    return {
      admitted: true,
      delayMs: thresholdDelay + this.settings.processingMs,
      release: () => {
        const left = (this.#inFlight.get(key) ?? 1) - 1;
        if (left > 0) this.#inFlight.set(key, left);
        else this.#inFlight.delete(key);
      },
    };
  }
}
