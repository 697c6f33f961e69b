import { createRoute, z } from '@hono/zod-openapi';
import type { OfferingItem } from '../../clients/acronis/types.ts';
import type { PartnerClients } from '../../clients/partner-clients.ts';
import { VendorApiError } from '../../clients/http.ts';
import { recordAudit } from '../../db/audit-log.ts';
import { listProductMappings, replaceProductMappings, type ProductMapping } from '../../db/mappings.ts';
import { findPartner } from '../../db/partners.ts';
import type { PsaProduct } from '../../psa/port.ts';
import { productMappingProblem } from '../broken-mappings.ts';
import { auditEntry, partnerClientsOr404, type ApiDeps } from '../context.ts';
import { fieldPath, problems, type FieldError } from '../problem.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, flagRepeats, jsonBody, jsonResponse, notFound, partnerIdParams, vendorFailure } from '../schemas.ts';
import { collectUpTo, customerOfferingItems, findPsaProducts } from '../vendor-lookups.ts';

/** A catalog larger than this is listed in part; the mappings themselves are checked against the whole catalog. */
const MAX_LISTED_PRODUCTS = 5_000;
const MAX_MAPPINGS = 1_000;
/** ConnectWise Manage catalog identifiers hold at most 60 characters. */
const MAX_PRODUCT_NAME = 60;
/** Far above any offering item name or PSA id; what is longer is not one, and is refused before a vendor is asked. */
const MAX_OFFERING_ITEM_NAME = 200;
const MAX_PRODUCT_ID = 64;

const productSchema = z.object({ id: z.string(), name: z.string(), active: z.boolean() }).openapi('PsaProduct');

const mappingViewSchema = z
  .object({
    offeringItem: z.string().describe('The Acronis offering item name: the key of the mapping'),
    psaProductId: z.string().nullable(),
    free: z.boolean(),
  })
  .openapi('ProductMapping');

const offeringItemViewSchema = z
  .object({
    offeringItem: z.string().describe('The Acronis offering item name: the key of the mapping'),
    edition: z.string().nullable(),
    usageName: z.string(),
    measurementUnit: z.string(),
    mapping: z
      .object({
        psaProductId: z.string().nullable(),
        free: z.boolean(),
        psaProductName: z.string().nullable().describe("The product's current name in the PSA; null when it is gone or not looked up"),
        problem: z.string().nullable().describe('Why the mapping no longer works (product deleted or inactive in the PSA)'),
      })
      .nullable()
      .describe('null: unmapped (the item gets quota 0)'),
    suggestion: productSchema.nullable().describe('The PSA product whose name best matches the item; null when none is plausible'),
  })
  .openapi('OfferingItemMapping');

const mappingInputSchema = z
  .strictObject({
    offeringItem: z.string().min(1).max(MAX_OFFERING_ITEM_NAME).describe('An offering item name from GET .../product-mappings'),
    psaProductId: z
      .string()
      .min(1)
      .max(MAX_PRODUCT_ID)
      .nullable()
      .optional()
      .describe('The PSA product/service; null (or absent, with `free: false`) leaves the item unmapped'),
    psaProductName: z
      .string()
      .trim()
      .min(1)
      .max(MAX_PRODUCT_NAME)
      .optional()
      .describe('Instead of psaProductId: the product/service with this name is found or created in the PSA'),
    free: z.boolean().default(false).describe('Provisioned without billing, quota unlimited'),
  })
  .openapi('ProductMappingInput');

const mappingsInputSchema = z
  .array(mappingInputSchema)
  .max(MAX_MAPPINGS)
  .superRefine((entries, ctx) => {
    entries.forEach((entry, index) => {
      const hasProductId = entry.psaProductId !== undefined && entry.psaProductId !== null;
      if (hasProductId && entry.psaProductName !== undefined) {
        ctx.addIssue({ code: 'custom', path: [index, 'psaProductName'], message: 'cannot be given with psaProductId; send one of them' });
      }
      if (entry.free && (hasProductId || entry.psaProductName !== undefined)) {
        ctx.addIssue({ code: 'custom', path: [index, 'free'], message: 'an item is either Free or billed through a PSA product, not both' });
      }
    });
    flagRepeats(entries, 'offeringItem', ctx);
  })
  .openapi('ProductMappingsInput');

type MappingInput = z.infer<typeof mappingInputSchema>;

function nameTokens(text: string): Set<string> {
  return new Set(
    text
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((token) => token.length > 1)
      // "Workstation" and "workstations" are the same word here.
      .map((token) => (token.length > 3 && token.endsWith('s') ? token.slice(0, -1) : token)),
  );
}

/**
 * The active product whose name shares the most words with the item: the usage name must match
 * (workstations, servers ...), and the edition's words (per workload, per gigabyte) break ties.
 */
export function suggestProduct(item: Pick<OfferingItem, 'name' | 'edition' | 'usage_name'>, products: readonly PsaProduct[]): PsaProduct | null {
  const usage = nameTokens(item.usage_name);
  const context = [...nameTokens(`${item.name} ${item.edition ?? ''}`)].filter((token) => !usage.has(token));
  let best: { product: PsaProduct; score: number } | null = null;
  for (const product of products) {
    if (!product.active) continue;
    const words = nameTokens(product.name);
    const usageHits = [...usage].filter((token) => words.has(token)).length;
    if (usageHits === 0) continue;
    const contextHits = context.filter((token) => words.has(token)).length;
    const unmatched = words.size - usageHits - contextHits;
    const score = usageHits * 4 + contextHits * 2 - unmatched * 0.5;
    if (!best || score > best.score) best = { product, score };
  }
  return best?.product ?? null;
}

/** A stored row with neither product nor Free is an explicit "unmapped". */
function isMapped(mapping: ProductMapping): boolean {
  return mapping.free || mapping.psaProductId !== null;
}

export function productMappingRoutes(deps: ApiDeps, notifyChanged: (partnerId: string) => Promise<void>) {
  const { db } = deps;
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/product-mappings',
      summary: 'Offering items the partner can give its customers, each with its mapping and a suggested PSA product',
      tags: ['Mappings'],
      security: bearerSecurity,
      request: { params: partnerIdParams },
      responses: {
        200: jsonResponse(
          z.object({
            items: z.array(offeringItemViewSchema),
            unavailable: z.array(mappingViewSchema).describe('Stored mappings of offering items the partner no longer offers'),
            products: z.array(productSchema).describe('The PSA catalog, for pickers'),
            productsTruncated: z.boolean().describe(`True when the catalog holds more than ${MAX_LISTED_PRODUCTS} products`),
          }),
          'Offering items with their mappings',
        ),
        ...commonErrors,
        ...notFound,
        ...vendorFailure,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const clients = await partnerClientsOr404(deps, id);
      const [offeringItems, catalog, stored] = await Promise.all([
        customerOfferingItems(clients.acronis),
        collectUpTo(clients.psa.listProducts(), MAX_LISTED_PRODUCTS),
        listProductMappings(db, id),
      ]);
      const products = catalog.items.toSorted((a, b) => a.name.localeCompare(b.name));
      const productsById = new Map(products.map((product) => [product.id, product]));
      const storedByItem = new Map(stored.map((mapping) => [mapping.offeringItem, mapping]));
      const items = offeringItems.map((item) => {
        const row = storedByItem.get(item.name);
        const mapped = row && isMapped(row) ? row : undefined;
        const product = mapped?.psaProductId ? productsById.get(mapped.psaProductId) : undefined;
        return {
          offeringItem: item.name,
          edition: item.edition,
          usageName: item.usage_name,
          measurementUnit: item.measurement_unit,
          mapping: mapped
            ? { psaProductId: mapped.psaProductId, free: mapped.free, psaProductName: product?.name ?? null, problem: productMappingProblem(mapped, product, !catalog.truncated) }
            : null,
          suggestion: suggestProduct(item, products),
        };
      });
      const offered = new Set(offeringItems.map((item) => item.name));
      const unavailable = stored.filter((mapping) => isMapped(mapping) && !offered.has(mapping.offeringItem));
      return c.json({ items, unavailable, products, productsTruncated: catalog.truncated }, 200);
    },
  );

  /** Every entry is checked against Acronis and the PSA before anything is created or stored. */
  async function checkAgainstVendors(entries: readonly MappingInput[], clients: PartnerClients): Promise<void> {
    const [offeringItems, products] = await Promise.all([
      customerOfferingItems(clients.acronis),
      findPsaProducts(clients.psa, new Set(entries.flatMap((entry) => (entry.psaProductId ? [entry.psaProductId] : [])))),
    ]);
    const offered = new Set(offeringItems.map((item) => item.name));
    const errors: FieldError[] = entries.flatMap((entry, index) => [
      ...(offered.has(entry.offeringItem) ? [] : [{ path: fieldPath([index, 'offeringItem']), message: 'is not an offering item available to this partner\'s customers' }]),
      ...(entry.psaProductId && !products.has(entry.psaProductId) ? [{ path: fieldPath([index, 'psaProductId']), message: 'is not a product/service in the PSA' }] : []),
    ]);
    if (errors.length > 0) throw problems.validation(errors);
  }

  router.openapi(
    createRoute({
      method: 'put',
      path: '/partners/{id}/product-mappings',
      summary: 'Replace all product mappings; a `psaProductName` finds or creates that product/service in the PSA',
      tags: ['Mappings'],
      security: bearerSecurity,
      request: { params: partnerIdParams, body: jsonBody(mappingsInputSchema, 'The whole set: items not listed are unmapped') },
      responses: { 200: jsonResponse(z.array(mappingViewSchema), 'The mappings now stored'), ...commonErrors, ...notFound, ...vendorFailure },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const entries = c.req.valid('json');
      const clients = await partnerClientsOr404(deps, id);
      await checkAgainstVendors(entries, clients);

      const created: { psaProductId: string; name: string }[] = [];
      const mappings: ProductMapping[] = [];
      for (const [index, entry] of entries.entries()) {
        let psaProductId = entry.psaProductId ?? null;
        if (entry.psaProductName !== undefined) {
          const ensured = await clients.psa.ensureProduct(entry.psaProductName).catch((error: unknown) => {
            if (error instanceof VendorApiError && error.kind === 'validation') throw problems.field(fieldPath([index, 'psaProductName']), 'the PSA refused to create a product/service with this name');
            throw error;
          });
          psaProductId = ensured.product.id;
          if (ensured.created) created.push({ psaProductId, name: ensured.product.name });
        }
        mappings.push({ offeringItem: entry.offeringItem, psaProductId, free: entry.free });
      }

      await db.transaction().execute(async (tx) => {
        if (!(await findPartner(tx, id, { forUpdate: true }))) throw problems.notFound(`Partner ${id}`);
        await replaceProductMappings(tx, id, mappings);
        await recordAudit(tx, auditEntry(c, {
          action: 'product-mappings.replace',
          partnerId: id,
          target: `partner/${id}/product-mappings`,
          details: { mappings, createdProducts: created },
        }));
      });
      await notifyChanged(id);
      return c.json(await listProductMappings(db, id), 200);
    },
  );

  return router;
}
