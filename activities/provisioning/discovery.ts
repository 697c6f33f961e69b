/** Discovery (F3.1, F3.2, F3.6): which PSA companies should have a customer workflow, and which of those to poke. */
import { createHash } from 'node:crypto';
import { keepFingerprintsOf, readFingerprints, saveFingerprint } from '../../db/line-fingerprints.ts';
import { insertCompanyMappingIfAbsent, listCompanyMappings, listProductMappings, type ProductMapping } from '../../db/mappings.ts';
import { hasActiveServices } from '../../domain/quotas.ts';
import type { ServiceLine } from '../../psa/port.ts';
import type { DiscoveryOutcome, DiscoverySummary } from '../../workflows/contracts/provisioning.ts';
import { livePartner, provisioningScope, type ProvisioningDeps } from './shared.ts';

/** Heartbeat details of discovery: a retry skips the companies already handled. */
interface DiscoveryProgress {
  processed: number;
  summary: DiscoverySummary;
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
    /** One discovery pass for the partner: reads PSA companies and lines, makes automatic-mode mappings, starts or signals customer workflows whose lines changed (all of them when `force`). */
    discoverCustomers: ({ partnerId, force }: { partnerId: string; force: boolean }): Promise<DiscoveryOutcome> =>
      inScope<DiscoveryOutcome, DiscoveryProgress>(partnerId, async (context) => {
        const partner = await livePartner(deps, partnerId);
        if (partner.status === 'off') return partner;
        const { clients, settings } = partner;
        const productMappings = await listProductMappings(db, partnerId);
        const mapped = new Set((await listCompanyMappings(db, partnerId)).map((mapping) => mapping.psaCompanyId));
        const fingerprints = await readFingerprints(db, partnerId);
        const resumed = context.resumed;
        const summary: DiscoverySummary = resumed?.summary ?? { companies: 0, mapped: 0, newlyMapped: 0, signalled: 0 };

        const visit = async (companyId: string, companyName: string | undefined, active: boolean) => {
          const isMapped = mapped.has(companyId);
          if (!isMapped && !(settings.provisioning.automatic && active)) return;
          const lines = await clients.psa.listServiceLines(companyId);
          if (!isMapped) {
            if (!hasActiveServices(lines, productMappings)) return;
            // A pass takes minutes on a large PSA: a partner removed meanwhile maps nothing more.
            await context.assertOn();
            if (await insertCompanyMappingIfAbsent(db, partnerId, companyId)) summary.newlyMapped++;
            mapped.add(companyId);
          }
          summary.mapped++;
          const fingerprint = lineFingerprint(lines, productMappings);
          if (force || fingerprints.get(companyId) !== fingerprint) {
            await context.assertOn();
            await deps.workflows.syncCustomer({ partnerId, partnerName: clients.partnerName, psaKind: clients.psaKind, psaCompanyId: companyId, companyName });
            await saveFingerprint(db, partnerId, companyId, fingerprint);
            summary.signalled++;
          }
        };

        const listed = new Set<string>();
        let position = 0;
        for await (const company of clients.psa.listCompanies()) {
          listed.add(company.id);
          position++;
          if (resumed && position <= resumed.processed) continue;
          summary.companies++;
          await visit(company.id, company.name, company.active);
          context.report({ processed: position, summary });
        }
        // A mapped company the PSA no longer lists (deleted) still has a workflow that must hear of it.
        for (const companyId of [...mapped]) if (!listed.has(companyId)) await visit(companyId, undefined, false);
        // A mapping removed and made again later must signal its new workflow.
        await keepFingerprintsOf(db, partnerId, [...mapped]);
        return { status: 'done', summary };
      }),
  };
}
