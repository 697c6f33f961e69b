import { AsyncLocalStorage } from 'node:async_hooks';
import type { VendorApiError, VendorSystem } from './http.ts';

/** One vendor call as it ended: answered (2xx), or the failure it was. */
export interface VendorCallOutcome {
  system: VendorSystem;
  operation: string;
  error: VendorApiError | null;
}

/**
 * What the code around a vendor call asks of it, without the clients knowing who asks: the engine's
 * activities cancel their HTTP calls with the activity, and check before every write that they may
 * still write (the partner is there, its capability on). Clients are shared per partner, so this
 * travels with the call rather than with the client.
 */
export interface CallScope {
  /** Aborts every request made inside the scope. */
  signal?: AbortSignal;
  /** Runs before every request that changes something at the vendor; throwing stops the request unsent. */
  beforeWrite?: (operation: string) => Promise<void>;
  /** Hears how each call ended (the partner's health gathers them); must not throw. */
  observe?: (outcome: VendorCallOutcome) => void;
  /**
   * How long a request may wait inside the call for the partner's request budget (a full window, a
   * vendor's pause) before it fails as `rate-limited`; never less than the limiter's own
   * `maxInlineWaitMs`. Code that can wait (it heartbeats, and holds no slot a short call needs) sets
   * it, so a long read is not started over for every window it outlasts.
   */
  maxBudgetWaitMs?: number;
}

const scopes = new AsyncLocalStorage<CallScope>();

export function runInCallScope<T>(scope: CallScope, body: () => Promise<T>): Promise<T> {
  return scopes.run(scope, body);
}

export function currentCallScope(): CallScope | undefined {
  return scopes.getStore();
}
