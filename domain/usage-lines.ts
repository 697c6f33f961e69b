/**
 * What one usage line of a billing run becomes (F4.1, F4.2, F4.4, F4.6, F4.10, F4.11): the quantity
 * the PSA is to bill, and whether the run writes it, leaves it, holds it for approval or reports a
 * conflict. Pure: the pass reads Acronis, the PSA and the ledger, and does what this decides.
 *
 * Quantities are counted the way the PSA product is sold: pieces, GB (binary, as the Acronis console
 * shows bytes) and hours. Autotask takes whole units; ConnectWise Manage keeps two decimals. Both
 * round up: a customer who used 10.001 GB used more than 10.
 *
 * Storage (F4.4). A storage item's usage is split at what the customer has prepaid for the product
 * (its active prepaid lines, in GB): class 1 is the part within it (free of charge: already paid),
 * class 2 the part above it (billed). "Quota/overage/total" reports the whole usage, overage
 * included, which is what the PAYG line carries when a product has prepaid and PAYG lines (F4.2).
 * The settings' combination chooses what the PAYG line carries: the total when `totalAndOverage` is
 * on, else the sum of the classes chosen; none chosen leaves storage unreported.
 */
import type { Settings } from './settings.ts';

export type MeasurementUnit = 'quantity' | 'bytes' | 'seconds' | 'n/a';
export type PsaKindForQuantities = 'connectwise-manage' | 'autotask';

const GIB = 1024 ** 3;
const HOUR_S = 3600;
/** Float noise of the unit division must not push a whole number up by one. */
const EPSILON = 1e-9;

/** An Acronis figure (bytes, seconds, pieces) in the unit the PSA product is sold in. */
export function inSoldUnit(value: number, unit: MeasurementUnit): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`usage must be a non-negative number, not ${value}`);
  return unit === 'bytes' ? value / GIB : unit === 'seconds' ? value / HOUR_S : value;
}

export function isStorage(unit: MeasurementUnit): boolean {
  return unit === 'bytes';
}

/**
 * The quantity the PAYG line carries for one item, before rounding: the usage, or for storage the
 * part the settings choose (see above); null when storage reporting is off.
 */
export function reportedQuantity(input: { usage: number; unit: MeasurementUnit; prepaid: number; storage: Settings['billing']['storage'] }): number | null {
  const usage = inSoldUnit(input.usage, input.unit);
  if (!isStorage(input.unit)) return usage;
  const { totalAndOverage, class1Free, class2Billed } = input.storage;
  if (totalAndOverage) return usage;
  if (!class1Free && !class2Billed) return null;
  const within = Math.min(usage, Math.max(0, input.prepaid));
  return (class1Free ? within : 0) + (class2Billed ? usage - within : 0);
}

/** Rounded up as the PSA keeps it: whole units on Autotask, hundredths on ConnectWise Manage. */
export function billedQuantity(quantity: number, psaKind: PsaKindForQuantities): number {
  const steps = psaKind === 'autotask' ? 1 : 100;
  return Math.ceil(quantity * steps - EPSILON) / steps;
}

/** The per-partner settings a line's decision depends on. */
export type LinePolicy = Pick<Settings['billing'], 'review' | 'holdChangesAbovePercent' | 'onDrift'>;

/** What the engine knows of the line before this run. */
export interface LineBaseline {
  /** The figure last settled for the line (written, or kept from the PSA); undefined: never, or to be written again. */
  reported: number | undefined;
  /** What the PSA holds for the line and period if nobody changed it by hand; undefined: nothing known. */
  psaExpected: number | undefined;
  /** A write of this run (or an earlier attempt of it) that may have landed: the PSA may hold it too. */
  inFlight: number | undefined;
}

export type LineAction = 'write' | 'unchanged' | 'hold' | 'conflict';

export interface LineDecision {
  action: LineAction;
  reason: string | null;
}

/** Whether the line needs the PSA's current value at all: only a figure that moved does. */
export function figureMoved(next: number, baseline: Pick<LineBaseline, 'reported'>): boolean {
  return baseline.reported === undefined || baseline.reported !== next;
}

/** How far `next` moves from `previous`, in percent of `previous`; from 0 any rise is infinite. */
export function changePercent(previous: number, next: number): number {
  if (previous === next) return 0;
  return previous === 0 ? Number.POSITIVE_INFINITY : (Math.abs(next - previous) / Math.abs(previous)) * 100;
}

function formatted(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

/**
 * The line's fate, given the figure to bill (`next`) and what the PSA holds now (`psaNow`, read only
 * when the figure moved). A PSA that holds the figure already needs nothing. Drift (F4.11) is a PSA value that is neither what the engine last left
 * there nor a write of this run that may have landed. Holds (F4.10): every change under review
 * `always`, and changes beyond `holdChangesAbovePercent` of the PSA's value.
 */
export function decideLine(input: { next: number; psaNow: number; baseline: LineBaseline; policy: LinePolicy }): LineDecision {
  const { next, psaNow, baseline, policy } = input;
  // The PSA holds the figure already, by whatever hand: nothing to write, nothing to dispute.
  if (psaNow === next) return { action: 'unchanged', reason: null };
  const drifted = baseline.psaExpected !== undefined && psaNow !== baseline.psaExpected && psaNow !== baseline.inFlight;
  let driftNote: string | null = null;
  if (drifted) {
    const what = `the PSA holds ${formatted(psaNow)}, but the engine last left ${formatted(baseline.psaExpected as number)} there: changed by hand`;
    if (policy.onDrift === 'report') return { action: 'conflict', reason: what };
    driftNote = `${what}; the engine owns the field`;
  }
  if (policy.review === 'always') return { action: 'hold', reason: 'review is on: every change waits for approval' };
  const limit = policy.holdChangesAbovePercent;
  if (limit !== null) {
    const moved = changePercent(psaNow, next);
    if (moved > limit) {
      const share = Number.isFinite(moved) ? `${moved.toFixed(1)} %` : 'more than any share (from 0)';
      return { action: 'hold', reason: `moves by ${share}, above the ${formatted(limit)} % that waits for approval` };
    }
  }
  return { action: 'write', reason: driftNote };
}

/** A run's line as the ledger keeps it. */
export type LedgerStatus = 'writing' | 'written' | 'held' | 'rejected' | 'conflict' | 'failed';

export type BillingRunStatus = 'running' | 'written' | 'awaiting-approval' | 'approved' | 'rejected' | 'partly-written';

/**
 * A finished run's status from its lines: held lines wait for approval; a run that wrote less than it
 * meant to (a line failed or conflicts, or some lines were rejected and others written) is partly
 * written; all rejected is rejected; approved lines make it approved; otherwise it wrote what it found.
 */
export function runStatus(lines: readonly { status: LedgerStatus; approved: boolean }[]): Exclude<BillingRunStatus, 'running'> {
  const has = (status: LedgerStatus) => lines.some((line) => line.status === status);
  if (has('held') || has('writing')) return 'awaiting-approval';
  const written = lines.filter((line) => line.status === 'written');
  if (has('failed') || has('conflict') || (has('rejected') && written.length > 0)) return 'partly-written';
  if (lines.length > 0 && lines.every((line) => line.status === 'rejected')) return 'rejected';
  return written.some((line) => line.approved) ? 'approved' : 'written';
}
