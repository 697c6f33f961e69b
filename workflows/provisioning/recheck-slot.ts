/**
 * When a customer's daily recheck comes. Customers provisioned in one discovery pass synced within
 * minutes of each other; rechecking each 24 hours after its last sync would bring all of a
 * partner's customers back together every day, as a herd of workflow tasks and vendor calls. Each
 * customer has a time of day of its own instead (a hash of its workflow id), so a partner's
 * rechecks spread over the day: the first one 12 to 36 hours after the last sync, then every 24.
 */

export const RECHECK_INTERVAL_MS = 24 * 60 * 60 * 1000;

/** FNV-1a, 32 bits: the same id gives the same slot in every process and every replay. */
function hash(text: string): number {
  let value = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    value ^= text.charCodeAt(index);
    value = Math.imul(value, 0x01000193) >>> 0;
  }
  return value;
}

/** The customer's time of day for its recheck, ms after midnight UTC. */
export function recheckSlotMs(workflowId: string): number {
  return hash(workflowId) % RECHECK_INTERVAL_MS;
}

/** How long from `nowMs` until the customer's next daily recheck: its slot, at least 12 hours away. */
export function untilRecheckMs(workflowId: string, nowMs: number): number {
  const toSlot = (((recheckSlotMs(workflowId) - nowMs) % RECHECK_INTERVAL_MS) + RECHECK_INTERVAL_MS) % RECHECK_INTERVAL_MS;
  return toSlot >= RECHECK_INTERVAL_MS / 2 ? toSlot : toSlot + RECHECK_INTERVAL_MS;
}
