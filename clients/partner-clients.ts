import type { Db } from '../db/connection.ts';
import { findPartner, type CredentialRow, type PartnerWithCredentials } from '../db/partners.ts';
import { credentialContext, type ExternalSystem, type PsaKind } from '../domain/partner.ts';
import { AutotaskPsa } from '../psa/autotask.ts';
import { ConnectWiseManagePsa } from '../psa/connectwise-manage.ts';
import type { PsaPort } from '../psa/port.ts';
import type { Keyring } from '../security/keyring.ts';
import { SecretBox } from '../security/secret-box.ts';
import { AcronisClient } from './acronis/client.ts';
import { ConnectWiseAutomateClient } from './connectwise-automate/client.ts';

/** One partner's vendor clients, built from its stored credentials. */
export interface PartnerClients {
  partnerId: string;
  /** For the Web UI's summaries of the workflows the activities start. */
  partnerName: string;
  psaKind: PsaKind;
  timezone: string;
  acronis: AcronisClient;
  psa: PsaPort;
  /** Absent when the partner has no RMM. */
  rmm: ConnectWiseAutomateClient | undefined;
}

export class PartnerNotFoundError extends Error {
  constructor(partnerId: string) {
    super(`partner ${partnerId} does not exist or was removed`);
  }
}

function fields(partner: PartnerWithCredentials, system: ExternalSystem, box: SecretBox): Record<string, string> & { kind: string } {
  const credential: CredentialRow | undefined = partner.credentials[system];
  if (!credential) throw new Error(`partner ${partner.id} has no ${system} credentials`);
  const secrets = JSON.parse(box.open(credential.sealedSecrets, credentialContext(partner.id, system))) as Record<string, string>;
  return { ...credential.visible, ...secrets, kind: credential.kind };
}

/** Tests shorten the vendor calls' timeout (30 s by default) to see a lost answer quickly. */
export interface PartnerClientsOptions {
  timeoutMs?: number;
}

function build(partner: PartnerWithCredentials, box: SecretBox, options: PartnerClientsOptions): PartnerClients {
  const { timeoutMs } = options;
  const acronis = fields(partner, 'acronis', box);
  const psa = fields(partner, 'psa', box);
  const rmm = partner.credentials.rmm ? fields(partner, 'rmm', box) : undefined;
  const req = (values: Record<string, string>, name: string): string => {
    const value = values[name];
    if (value === undefined) throw new Error(`partner ${partner.id}: stored credentials lack ${name}`);
    return value;
  };
  return {
    partnerId: partner.id,
    partnerName: partner.name,
    psaKind: partner.psaKind,
    timezone: partner.timezone,
    acronis: new AcronisClient({ baseUrl: req(acronis, 'baseUrl'), clientId: req(acronis, 'clientId'), clientSecret: req(acronis, 'clientSecret'), timeoutMs }),
    psa:
      partner.psaKind === 'connectwise-manage'
        ? new ConnectWiseManagePsa({ baseUrl: req(psa, 'baseUrl'), companyId: req(psa, 'companyId'), publicKey: req(psa, 'publicKey'), privateKey: req(psa, 'privateKey'), clientId: req(psa, 'clientId'), timeoutMs })
        : new AutotaskPsa({ baseUrl: req(psa, 'baseUrl'), username: req(psa, 'username'), secret: req(psa, 'secret'), integrationCode: req(psa, 'integrationCode'), timeoutMs }),
    rmm: rmm && new ConnectWiseAutomateClient({ baseUrl: req(rmm, 'baseUrl'), username: req(rmm, 'username'), password: req(rmm, 'password'), clientId: req(rmm, 'clientId'), timeoutMs }),
  };
}

/**
 * Clients per partner, kept while the partner's row is unchanged: a worker reuses tokens, zone
 * lookups and concurrency limits across activities, and a credential change (which touches the
 * partner's `updated_at`) builds fresh ones.
 */
export class PartnerClientsCache {
  readonly #db: Db;
  readonly #box: SecretBox;
  readonly #cache = new Map<string, { stamp: string; clients: PartnerClients }>();
  readonly #options: PartnerClientsOptions;

  constructor(db: Db, keyring: Keyring, options: PartnerClientsOptions = {}) {
    this.#db = db;
    this.#box = new SecretBox(keyring);
    this.#options = options;
  }

  async forPartner(partnerId: string): Promise<PartnerClients> {
    const partner = await findPartner(this.#db, partnerId);
    if (!partner) {
      this.#cache.delete(partnerId);
      throw new PartnerNotFoundError(partnerId);
    }
    const stamp = [partner.updatedAt.toISOString(), ...Object.values(partner.credentials).map((credential) => credential.sealedSecrets + JSON.stringify(credential.visible))].join('|');
    const cached = this.#cache.get(partnerId);
    if (cached?.stamp === stamp) return cached.clients;
    const clients = build(partner, this.#box, this.#options);
    this.#cache.set(partnerId, { stamp, clients });
    return clients;
  }
}
