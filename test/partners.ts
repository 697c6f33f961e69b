import { randomUUID } from 'node:crypto';
import type { Db } from '../db/connection.ts';
import { insertPartner, saveCredential } from '../db/partners.ts';
import { insertDefaultSettings } from '../db/settings.ts';
import { credentialContext, splitCredential, type PsaKind } from '../domain/partner.ts';
import { SecretBox } from '../security/secret-box.ts';
import type { Keyring } from '../security/keyring.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import { createAcronisPartnerAccount, type AcronisPartnerAccount } from '../simulators/seeding/acronis.ts';

export interface SeedPartnerOptions {
  psaKind?: PsaKind;
  timezone?: string;
  /** Base URLs of the simulators the credentials point at (the default ports when absent). */
  urls?: { acronis?: string; psa?: string; automate?: string };
  /** The partner's own Acronis API client (`newAcronisPartnerAccount`); the simulator's default one when absent. */
  acronisClient?: { clientId: string; clientSecret: string };
}

const DEFAULT_PSA_URLS: Record<PsaKind, string> = { 'connectwise-manage': 'http://localhost:4102', autotask: 'http://localhost:4103' };

/** A partner as the API would have stored it, with the simulators' default credentials, for tests that start below the API. */
export async function seedPartner(db: Db, keyring: Keyring, name = `Partner ${randomUUID().slice(0, 8)}`, options: SeedPartnerOptions = {}): Promise<string> {
  const id = randomUUID();
  const box = new SecretBox(keyring);
  const psaKind = options.psaKind ?? 'autotask';
  const { clientId, clientSecret } = options.acronisClient ?? DEFAULT_CREDENTIALS.acronis;
  const credentials = {
    acronis: splitCredential('acronis', { baseUrl: options.urls?.acronis ?? 'http://localhost:4101', clientId, clientSecret }),
    psa: splitCredential(psaKind, { baseUrl: options.urls?.psa ?? DEFAULT_PSA_URLS[psaKind], ...DEFAULT_CREDENTIALS[psaKind] }),
  };
  const rmm = options.urls?.automate ? splitCredential('connectwise-automate', { baseUrl: options.urls.automate, ...DEFAULT_CREDENTIALS.automate }) : undefined;
  await db.transaction().execute(async (tx) => {
    await insertPartner(tx, { id, name, timezone: options.timezone ?? 'Europe/Berlin', psaKind, rmmKind: rmm ? 'connectwise-automate' : null });
    await saveCredential(tx, id, { system: 'acronis', kind: 'acronis', visible: credentials.acronis.visible, sealedSecrets: box.seal(JSON.stringify(credentials.acronis.secrets), credentialContext(id, 'acronis')) });
    await saveCredential(tx, id, { system: 'psa', kind: psaKind, visible: credentials.psa.visible, sealedSecrets: box.seal(JSON.stringify(credentials.psa.secrets), credentialContext(id, 'psa')) });
    if (rmm) await saveCredential(tx, id, { system: 'rmm', kind: 'connectwise-automate', visible: rmm.visible, sealedSecrets: box.seal(JSON.stringify(rmm.secrets), credentialContext(id, 'rmm')) });
    await insertDefaultSettings(tx, id);
  });
  return id;
}

/**
 * An Acronis account of its own (a partner tenant under the simulator's Sim Partner, and its API
 * client), for a partner registered through the API: registration refuses a second live partner on
 * one Acronis partner tenant, so tests that register several partners against one simulator give
 * each its own. Customer tenants of the partner belong under `tenantId`.
 */
export function newAcronisPartnerAccount(acronisUrl: string): Promise<AcronisPartnerAccount> {
  return createAcronisPartnerAccount(acronisUrl, `Test partner ${randomUUID().slice(0, 8)}`);
}
