/**
 * Discovery (F3.1, F3.2, F3.6): which PSA companies should have a customer workflow, and which of
 * those to poke. What it reads of each company it watches (the mapped ones, and in automatic mode
 * every active one) is kept in PostgreSQL, so that most passes ask the PSA only what changed:
 *
 * - a full pass lists every company and reads every watched company's lines: the first pass,
 *   "sync now", the first pass after automatic mode was switched on, and one a day, which sees
 *   what change stamps cannot show (a company or agreement deleted outright);
 * - an incremental pass asks for the companies and the lines the PSA stamped as changed since the
 *   previous pass began (less an overlap), and reads the lines of those, of companies mapped since,
 *   and of those whose lines the calendar changes by now (a cancellation date reached).
 *
 * Either way the decisions are made from PostgreSQL: a new product mapping needs no PSA read.
 */
import { createHash } from 'node:crypto';
import { forgetLineSnapshots, readCompanyLines, readLineWatermark, saveLineSnapshots, saveLineWatermark, type CompanyLines } from '../../db/company-lines.ts';
import { keepFingerprintsOf, readFingerprints, saveFingerprint } from '../../db/line-fingerprints.ts';
import { insertCompanyMappingIfAbsent, listCompanyMappings, listProductMappings, type ProductMapping } from '../../db/mappings.ts';
import { hasActiveServices } from '../../domain/quotas.ts';
import type { ServiceLine } from '../../psa/port.ts';
import type { DiscoveryOutcome, DiscoverySummary } from '../../workflows/contracts/provisioning.ts';
import { changesSince, fullReadDue, linesToReread, readLinesInBatches, watermarkAfter } from '../psa-lines.ts';
import { engineNow, livePartner, provisioningScope, type ProvisioningDeps } from './shared.ts';

/** Heartbeat details of discovery: a retry keeps the pass's start and kind, and skips the companies it already read. */
interface DiscoveryProgress {
  startedAt: string;
  full: boolean;
  /** Companies read or decided on so far. */
  processed: number;
  summary: DiscoverySummary;
}

/** What discovery knows of a company besides its lines. */
interface CompanyFacts {
  /** Null when the PSA no longer has the company. */
  name: string | null;
  active: boolean;
}

/** Digest of what decides a customer's quotas: its lines and the partner's product mappings. */
function lineFingerprint(lines: readonly ServiceLine[], mappings: readonly ProductMapping[]): string {
  const normal = {
    lines: lines.map((line) => JSON.stringify([line.lineId, line.agreementId, line.productId, line.quantity, line.billing, line.active])).sort(),
    mappings: mappings.map((mapping) => JSON.stringify([mapping.offeringItem, mapping.psaProductId, mapping.free])).sort(),
  };
  return createHash('sha256').update(JSON.stringify(normal)).digest('base64url');
}

export function createDiscoveryActivities(deps: ProvisioningDeps) {
  const { db } = deps;
  const inScope = provisioningScope(db);

  return {
    /** One discovery pass for the partner: reads what changed in the PSA (everything on a full pass), makes automatic-mode mappings, starts or signals customer workflows whose lines changed (all of them when `force`). */
    discoverCustomers: ({ partnerId, force }: { partnerId: string; force: boolean }): Promise<DiscoveryOutcome> =>
      inScope<DiscoveryOutcome, DiscoveryProgress>(partnerId, async (context) => {
        const partner = await livePartner(deps, partnerId);
        if (partner.status === 'off') return partner;
        const { clients, settings } = partner;
        const { psa } = clients;
        const automatic = settings.provisioning.automatic;
        // Details of an older worker (without a start) are not resumed: the pass starts over.
        const resumed = context.resumed?.startedAt ? context.resumed : undefined;
        const startedAt = resumed ? new Date(resumed.startedAt) : engineNow(deps);
        const watermark = await readLineWatermark(db, partnerId, 'discovery');
        const full = resumed?.full ?? (force || fullReadDue(watermark, startedAt) || (automatic && !watermark?.fullAutomatic));
        const summary: DiscoverySummary = resumed?.summary ?? { companies: 0, mapped: 0, newlyMapped: 0, signalled: 0, kind: full ? 'full' : 'incremental', linesRead: 0 };
        let processed = 0;
        const report = () => context.report({ startedAt: startedAt.toISOString(), full, processed, summary });

        const productMappings = await listProductMappings(db, partnerId);
        const mapped = new Set((await listCompanyMappings(db, partnerId)).map((mapping) => mapping.psaCompanyId));
        const stored = await readCompanyLines(db, partnerId);
        const watches = (companyId: string, facts: CompanyFacts) => mapped.has(companyId) || (automatic && facts.active);
        const since = changesSince(watermark);

        // Which companies to watch after this pass, and which of them to read now.
        const watched = new Map<string, CompanyFacts>();
        const toRead = new Set<string>();
        if (full) {
          for await (const company of psa.listCompanies()) if (watches(company.id, company)) watched.set(company.id, { name: company.name, active: company.active });
        } else {
          for (const [companyId, known] of stored) watched.set(companyId, { name: known.companyName, active: known.companyActive });
          for await (const company of psa.listCompanies({ changedSince: since })) {
            watched.set(company.id, { name: company.name, active: company.active });
            toRead.add(company.id);
          }
        }
        // Mapped companies it knows nothing of: mapped since the last pass, or no longer listed (deleted).
        for (const companyId of mapped) {
          if (watched.has(companyId)) continue;
          const company = await psa.getCompany(companyId);
          watched.set(companyId, { name: company?.name ?? null, active: company?.active ?? false });
          toRead.add(companyId);
        }
        if (full) {
          for (const companyId of watched.keys()) toRead.add(companyId);
        } else {
          for (const [companyId, facts] of watched) if (!watches(companyId, facts)) watched.delete(companyId);
          for (const companyId of await linesToReread(psa, [...watched.keys()], stored, since, startedAt)) toRead.add(companyId);
        }
        report();

        await readLinesInBatches(psa, [...toRead].filter((companyId) => watched.has(companyId)), stored, startedAt, () => engineNow(deps), async (read) => {
          const rows = read.map((row): CompanyLines => {
            const facts = watched.get(row.psaCompanyId) as CompanyFacts;
            return { ...row, companyName: facts.name, companyActive: facts.active };
          });
          // A pass takes minutes on a large PSA: a partner removed meanwhile gets nothing more written.
          await context.assertOn();
          await saveLineSnapshots(db, partnerId, 'discovery', rows);
          for (const row of rows) stored.set(row.psaCompanyId, row);
          summary.linesRead = (summary.linesRead ?? 0) + rows.length;
          processed += rows.length;
          report();
        });
        await context.assertOn();
        await forgetLineSnapshots(db, partnerId, 'discovery', [...stored.keys()].filter((companyId) => !watched.has(companyId)));
        // Everything the PSA changed before the pass began is in PostgreSQL now: the next pass asks from here.
        await saveLineWatermark(db, partnerId, 'discovery', watermarkAfter(watermark, { startedAt, full, fullAutomatic: automatic }));

        // Decisions come from PostgreSQL alone: a retry finds the customers it already told by their fingerprints.
        const fingerprints = await readFingerprints(db, partnerId);
        summary.companies = watched.size;
        summary.mapped = 0;
        for (const [companyId, facts] of watched) {
          processed++;
          const lines = (stored.get(companyId) as CompanyLines).lines;
          if (!mapped.has(companyId)) {
            if (!(automatic && facts.active) || !hasActiveServices(lines, productMappings)) continue;
            await context.assertOn();
            if (await insertCompanyMappingIfAbsent(db, partnerId, companyId)) summary.newlyMapped++;
            mapped.add(companyId);
          }
          summary.mapped++;
          const fingerprint = lineFingerprint(lines, productMappings);
          const told = fingerprints.get(companyId);
          if (force ? (told?.seenAt.getTime() ?? 0) < startedAt.getTime() : told?.fingerprint !== fingerprint) {
            await context.assertOn();
            await deps.workflows.syncCustomer({ partnerId, partnerName: clients.partnerName, psaKind: clients.psaKind, psaCompanyId: companyId, companyName: facts.name ?? undefined });
            await saveFingerprint(db, partnerId, companyId, fingerprint);
            summary.signalled++;
          }
          report();
        }
        // A mapping removed and made again later must signal its new workflow.
        await keepFingerprintsOf(db, partnerId, [...mapped]);
        return { status: 'done', summary };
      }),
  };
}
