import { ApplicationFailure } from '@temporalio/common';
import { VendorApiError } from '../clients/http.ts';

/**
 * A vendor failure as Temporal should treat it: `<system>.<kind>` as the type, non-retryable when
 * sending the same request again cannot help (validation, auth, forbidden, not found, conflict),
 * otherwise retried, after the vendor's `Retry-After` when it gave one. The message names the system,
 * the operation (without ids) and the vendor's reason; clients never put credentials in either.
 * Anything else is returned unchanged.
 */
export function vendorFailure(error: unknown): unknown {
  if (!(error instanceof VendorApiError)) return error;
  return ApplicationFailure.create({
    type: `${error.system}.${error.kind}`,
    message: error.summary,
    nonRetryable: !error.retryable,
    nextRetryDelay: error.retryable ? error.retryAfterMs : undefined,
    details: [{ system: error.system, kind: error.kind, status: error.status ?? null, vendorCode: error.vendorCode ?? null }],
    cause: error,
  });
}

/** Runs an activity body, turning the vendor failures it throws into `ApplicationFailure`s. */
export async function withVendorFailures<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    throw vendorFailure(error);
  }
}
