/**
 * Reading the PSA's agreement lines incrementally, shared by discovery and billing. Each keeps what
 * it read of its companies in PostgreSQL (db/company-lines.ts) with a watermark per partner, and
 * asks the PSA again only for the companies whose lines may have changed since: those the PSA
 * stamped as changed since the previous pass began (less an overlap), those whose lines the calendar
 * changes by now, and those it keeps nothing of. A full read, whatever the stamps say, at least
 * daily sees what no stamp shows (an agreement deleted outright). Knows nothing of Temporal.
 */
import type { LineSnapshot, LineWatermark } from '../db/company-lines.ts';
import type { PsaPort, ServiceLine } from '../psa/port.ts';

/** A full read of every kept company, whatever the PSA's change stamps say, at least this often. */
const FULL_READ_EVERY_MS = 24 * 60 * 60 * 1000;
/**
 * An incremental pass asks for what the PSA stamped after the previous pass began, less this: the
 * PSA's clock may run behind the engine's, and a change committed while a pass was reading carries
 * a stamp from before the pass could see it.
 */
export const LINE_CHANGE_OVERLAP_MS = 10 * 60 * 1000;
/**
 * Companies whose lines are read together; each batch is saved before the next is read. Autotask
 * answers 200 parents per query (a smaller batch asks more queries for the same lines); CWM asks
 * for 100 companies' agreements per request whatever the batch.
 */
const READ_BATCH = 200;

export function fullReadDue(watermark: LineWatermark | undefined, startedAt: Date): boolean {
  return watermark === undefined || startedAt.getTime() - watermark.fullAt.getTime() >= FULL_READ_EVERY_MS;
}

/** The PSA's changes an incremental pass asks for: since the previous pass began, less the overlap. */
export function changesSince(watermark: LineWatermark | undefined): Date {
  return new Date((watermark?.checkedFrom.getTime() ?? 0) - LINE_CHANGE_OVERLAP_MS);
}

/** The watermark of a pass that began at `startedAt` and has read all it had to. */
export function watermarkAfter(previous: LineWatermark | undefined, pass: { startedAt: Date; full: boolean; fullAutomatic: boolean }): LineWatermark {
  const full = pass.full || !previous;
  return { checkedFrom: pass.startedAt, fullAt: full ? pass.startedAt : previous.fullAt, fullAutomatic: full ? pass.fullAutomatic : previous.fullAutomatic };
}

export function earliestChange(lines: readonly ServiceLine[]): Date | null {
  const instants = lines.flatMap((line) => (line.changesAt === null ? [] : [Date.parse(line.changesAt)]));
  return instants.length > 0 ? new Date(Math.min(...instants)) : null;
}

/**
 * Of `companyIds`, those whose kept lines may be out of date at `startedAt`: kept nothing of, changed
 * by the calendar by then (an addition's cancellation date, an agreement's start or end, a new
 * Autotask period), or stamped by the PSA as changed after `since` (CWM agreements' `lastUpdated`;
 * Autotask answers them all).
 */
export async function linesToReread(psa: PsaPort, companyIds: readonly string[], kept: ReadonlyMap<string, LineSnapshot>, since: Date, startedAt: Date): Promise<Set<string>> {
  const stale = new Set<string>();
  if (companyIds.length === 0) return stale;
  for (const companyId of companyIds) {
    const known = kept.get(companyId);
    if (!known || (known.changesAt !== null && known.changesAt.getTime() <= startedAt.getTime())) stale.add(companyId);
  }
  for (const companyId of await psa.companiesWithLineChangesSince(companyIds, since)) stale.add(companyId);
  return stale;
}

/**
 * Reads the lines of `companyIds` not read since `startedAt`, 200 companies at a time, handing each
 * batch to `save` before the next is read: a retried pass skips what it already read. Answers how
 * many companies it read.
 */
export async function readLinesInBatches(psa: PsaPort, companyIds: Iterable<string>, kept: ReadonlyMap<string, LineSnapshot>, startedAt: Date, now: () => Date, save: (read: LineSnapshot[]) => Promise<void>): Promise<number> {
  const pending = [...companyIds].filter((companyId) => (kept.get(companyId)?.readAt.getTime() ?? 0) < startedAt.getTime());
  for (let start = 0; start < pending.length; start += READ_BATCH) {
    const batch = pending.slice(start, start + READ_BATCH);
    const lines = await psa.listServiceLinesOf(batch);
    const readAt = now();
    await save(
      batch.map((companyId) => {
        const companyLines = lines.get(companyId) ?? [];
        return { psaCompanyId: companyId, lines: companyLines, changesAt: earliestChange(companyLines), readAt };
      }),
    );
  }
  return pending.length;
}
