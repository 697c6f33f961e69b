import { ApplicationFailure } from '@temporalio/common';
import { VendorApiError, type VendorSystem } from '../clients/http.ts';

const SYSTEM_NAMES: Record<VendorSystem, string> = {
  acronis: 'Acronis',
  'connectwise-manage': 'ConnectWise Manage',
  autotask: 'Autotask',
  'connectwise-automate': 'ConnectWise Automate',
};

/** The vendor's own words, without the `<system>: <operation>: ` prefix VendorApiError puts in front. */
function vendorReason(error: VendorApiError): string {
  const prefix = `${error.system}: ${error.operation}: `;
  return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}

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
    message: `${SYSTEM_NAMES[error.system]} ${error.retryable ? 'failed' : 'refused'} ${error.operation}: ${vendorReason(error)}`,
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
