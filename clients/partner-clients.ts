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
import type { VendorSystem } from './http.ts';
import { RequestLimiter, VENDOR_LIMITS, type VendorLimits } from './request-limiter.ts';

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

export interface PartnerClientsOptions {
  /** Overrides of the vendors' limits (`VENDOR_LIMITS`), for tests and benchmarks. */
  limits?: Partial<Record<VendorSystem, Partial<VendorLimits>>>;
  /** What the clients send requests with (tests keep them on this machine). */
  fetch?: typeof fetch;
  /** Vendor calls' timeout (30 s by default); tests shorten it to see a lost answer quickly. */
  timeoutMs?: number;
}

type PartnerLimiters = Record<VendorSystem, RequestLimiter>;

function build(partner: PartnerWithCredentials, box: SecretBox, limiters: PartnerLimiters, options: PartnerClientsOptions): PartnerClients {
  const { fetch, timeoutMs } = options;
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
    acronis: new AcronisClient({ baseUrl: req(acronis, 'baseUrl'), clientId: req(acronis, 'clientId'), clientSecret: req(acronis, 'clientSecret'), limiter: limiters.acronis, fetch, timeoutMs }),
    psa:
      partner.psaKind === 'connectwise-manage'
        ? new ConnectWiseManagePsa({ baseUrl: req(psa, 'baseUrl'), companyId: req(psa, 'companyId'), publicKey: req(psa, 'publicKey'), privateKey: req(psa, 'privateKey'), clientId: req(psa, 'clientId'), limiter: limiters['connectwise-manage'], fetch, timeoutMs })
        : new AutotaskPsa({ baseUrl: req(psa, 'baseUrl'), username: req(psa, 'username'), secret: req(psa, 'secret'), integrationCode: req(psa, 'integrationCode'), limiter: limiters.autotask, fetch, timeoutMs }),
    rmm: rmm && new ConnectWiseAutomateClient({ baseUrl: req(rmm, 'baseUrl'), username: req(rmm, 'username'), password: req(rmm, 'password'), clientId: req(rmm, 'clientId'), limiter: limiters['connectwise-automate'], fetch, timeoutMs }),
  };
}

/**
 * Clients per partner, kept while the partner's row is unchanged: a worker reuses tokens and zone
 * lookups across activities, and a credential change (which touches the partner's `updated_at`)
 * builds fresh ones. The request limiters live as long as the partner: every activity of the
 * partner on this worker, before and after a credential change, spends one budget per vendor. One
 * cache per process, then: a second cache would double the budget.
 */
export class PartnerClientsCache {
  readonly #db: Db;
  readonly #box: SecretBox;
  readonly #options: PartnerClientsOptions;
  readonly #cache = new Map<string, { stamp: string; clients: PartnerClients }>();
  readonly #limiters = new Map<string, PartnerLimiters>();

  constructor(db: Db, keyring: Keyring, options: PartnerClientsOptions = {}) {
    this.#db = db;
    this.#box = new SecretBox(keyring);
    this.#options = options;
  }

  #limitersFor(partnerId: string): PartnerLimiters {
    let limiters = this.#limiters.get(partnerId);
    if (!limiters) {
      const limiter = (system: VendorSystem) => new RequestLimiter({ ...VENDOR_LIMITS[system], ...this.#options.limits?.[system] });
      limiters = { acronis: limiter('acronis'), 'connectwise-manage': limiter('connectwise-manage'), autotask: limiter('autotask'), 'connectwise-automate': limiter('connectwise-automate') };
      this.#limiters.set(partnerId, limiters);
    }
    return limiters;
  }

  async forPartner(partnerId: string): Promise<PartnerClients> {
    const partner = await findPartner(this.#db, partnerId);
    if (!partner) {
      this.#cache.delete(partnerId);
      this.#limiters.delete(partnerId);
      throw new PartnerNotFoundError(partnerId);
    }
    const stamp = [partner.updatedAt.toISOString(), ...Object.values(partner.credentials).map((credential) => credential.sealedSecrets + JSON.stringify(credential.visible))].join('|');
    const cached = this.#cache.get(partnerId);
    if (cached?.stamp === stamp) return cached.clients;
    const clients = build(partner, this.#box, this.#limitersFor(partnerId), this.#options);
    this.#cache.set(partnerId, { stamp, clients });
    return clients;
  }
}
