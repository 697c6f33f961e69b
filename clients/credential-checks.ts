/**
 * Credential checks (SPEC F1.2): each system a partner names is asked, with the credentials as they
 * would be stored, for one token and one authenticated read, before anything is saved. A refusal
 * names the field to fix and the cause in the vendor's terms; a system that does not answer is
 * reported as unreachable, not as wrong credentials. The same checks re-probe credentials that
 * were refused at run time.
 */
import type { ExternalSystem, PsaKind } from '../domain/partner.ts';
import { AutotaskPsa } from '../psa/autotask.ts';
import { ConnectWiseManagePsa } from '../psa/connectwise-manage.ts';
import { AcronisClient } from './acronis/client.ts';
import { ConnectWiseAutomateClient } from './connectwise-automate/client.ts';
import { VendorApiError } from './http.ts';

/** A save waits for the vendors: a hung one must not hold the request for the clients' usual 30 s. */
const CHECK_TIMEOUT_MS = 10_000;

type Fields = Record<string, string>;

export interface CredentialsToCheck {
  acronis?: Fields;
  psa?: Fields & { kind: PsaKind };
  rmm?: Fields;
}

export interface CredentialRefusal {
  system: ExternalSystem;
  /** The dotted field to fix: `acronis.clientSecret`, `psa.companyId` ... */
  path: string;
  message: string;
}

export interface CredentialCheckResult {
  refused: CredentialRefusal[];
  /** Systems that did not answer (network, timeout, 5xx, rate limit): the credentials could not be judged. */
  unreachable: { system: ExternalSystem; name: string; detail: string }[];
  /** The systems whose credentials were accepted. */
  accepted: ExternalSystem[];
  /** The Acronis partner tenant the API client acts for, when Acronis was checked and accepted. */
  acronisTenantId?: string;
}

const UNREACHABLE = new Set(['rate-limited', 'unavailable', 'timeout', 'network', 'server']);

const req = (fields: Fields, name: string): string => fields[name] ?? '';

/**
 * What the error says about the credentials: a refusal at a field, the system away, or (address
 * refused by the outbound policy, an answer that is not the vendor's API) the base URL.
 */
type Reading = { refused: { field: string; cause: string } } | { unreachable: string };

function generic(error: VendorApiError, name: string, secretField: string, keyField: string): Reading {
  if (error.kind === 'network' && !error.retryable) return { refused: { field: 'baseUrl', cause: error.message.replace(/^[^:]+: [^:]+: /, '') } };
  if (UNREACHABLE.has(error.kind)) return { unreachable: `${error.kind}${error.status ? `, HTTP ${error.status}` : ''}` };
  if (error.kind === 'forbidden') return { refused: { field: keyField, cause: `${name} accepted the credentials but refused ${error.operation} (HTTP 403): the account lacks a permission the engine needs` } };
  if (error.kind === 'protocol' || (error.kind === 'not-found' && error.status === 404)) {
    return { refused: { field: 'baseUrl', cause: `does not answer like ${name}'s API (${error.operation}: ${error.kind}${error.status ? `, HTTP ${error.status}` : ''}); check the address` } };
  }
  return { refused: { field: secretField, cause: `${name} refused the credentials (${error.kind}${error.status ? `, HTTP ${error.status}` : ''})` } };
}

function readAcronis(error: VendorApiError, changed: ReadonlySet<string>): Reading {
  const code = String(error.vendorCode ?? '');
  if (error.operation.endsWith('/idp/token') && (error.kind === 'auth' || code === 'invalid_client' || code === 'access_denied')) {
    if (code === 'access_denied' || /disabled/i.test(error.message)) return { refused: { field: 'clientId', cause: 'Acronis refused the API client: it is disabled (access_denied)' } };
    // Acronis does not say which of the two is wrong: point at the one that was changed.
    const field = changed.has('acronis.clientId') && !changed.has('acronis.clientSecret') ? 'clientId' : 'clientSecret';
    return { refused: { field, cause: 'Acronis refused the API client: unknown client id or wrong secret (invalid_client)' } };
  }
  return generic(error, 'Acronis', 'clientSecret', 'clientId');
}

function readConnectWiseManage(error: VendorApiError, fields: Fields): Reading {
  if (error.operation === 'GET /login/companyinfo/{company}' && error.kind === 'auth') {
    return { refused: { field: 'companyId', cause: `ConnectWise Manage has no company '${req(fields, 'companyId')}' on this site` } };
  }
  if (error.kind === 'auth' && /clientid/i.test(error.message)) return { refused: { field: 'clientId', cause: 'ConnectWise Manage refused the clientId: it is not a registered integration' } };
  // Cloud sites answer wrong keys with 404 rather than 401.
  if (error.kind === 'auth' || (error.kind === 'not-found' && !error.operation.includes('companyinfo'))) {
    return { refused: { field: 'privateKey', cause: 'ConnectWise Manage refused the API member keys: wrong public or private key for this company' } };
  }
  return generic(error, 'ConnectWise Manage', 'privateKey', 'publicKey');
}

function readAutotask(error: VendorApiError, fields: Fields): Reading {
  if (error.operation.endsWith('/zoneInformation') && !UNREACHABLE.has(error.kind)) {
    return { refused: { field: 'username', cause: `Autotask knows no API user '${req(fields, 'username')}' (zone lookup refused)` } };
  }
  if (error.kind === 'auth' && /integration code/i.test(error.message)) return { refused: { field: 'integrationCode', cause: 'Autotask refused the integration code for this API user' } };
  if (error.kind === 'auth') return { refused: { field: 'secret', cause: 'Autotask refused the API user: wrong user name or secret' } };
  return generic(error, 'Autotask', 'secret', 'username');
}

function readAutomate(error: VendorApiError): Reading {
  if (error.kind === 'auth' && /clientid/i.test(error.message)) return { refused: { field: 'clientId', cause: 'ConnectWise Automate refused the ClientId: it is not a registered integration' } };
  if (error.kind === 'auth' && /two-factor/i.test(error.message)) return { refused: { field: 'username', cause: 'ConnectWise Automate asks this user for a two-factor passcode; use an integrator account without two-factor sign-in' } };
  if (error.kind === 'auth') return { refused: { field: 'password', cause: 'ConnectWise Automate refused the sign-in: wrong user name or password' } };
  return generic(error, 'ConnectWise Automate', 'password', 'username');
}

/**
 * Checks each system given, in parallel. `changed` lists the dotted fields the request set (a
 * refusal points at the one the admin touched when the vendor cannot say which is wrong).
 */
export async function checkCredentials(given: CredentialsToCheck, changed: ReadonlySet<string> = new Set()): Promise<CredentialCheckResult> {
  const result: CredentialCheckResult = { refused: [], unreachable: [], accepted: [] };
  const run = async (system: ExternalSystem, name: string, probe: () => Promise<void>, read: (error: VendorApiError) => Reading) => {
    try {
      await probe();
      result.accepted.push(system);
    } catch (error) {
      if (!(error instanceof VendorApiError)) throw error;
      const reading = read(error);
      if ('unreachable' in reading) result.unreachable.push({ system, name, detail: reading.unreachable });
      else result.refused.push({ system, path: `${system}.${reading.refused.field}`, message: reading.refused.cause });
    }
  };
  const checks: Promise<void>[] = [];
  const { acronis, psa, rmm } = given;
  if (acronis) {
    const client = new AcronisClient({ baseUrl: req(acronis, 'baseUrl'), clientId: req(acronis, 'clientId'), clientSecret: req(acronis, 'clientSecret'), timeoutMs: CHECK_TIMEOUT_MS });
    checks.push(run('acronis', 'Acronis', async () => {
      result.acronisTenantId = (await client.getApiClient()).tenant_id;
    }, (error) => readAcronis(error, changed)));
  }
  if (psa?.kind === 'connectwise-manage') {
    const port = new ConnectWiseManagePsa({ baseUrl: req(psa, 'baseUrl'), companyId: req(psa, 'companyId'), publicKey: req(psa, 'publicKey'), privateKey: req(psa, 'privateKey'), clientId: req(psa, 'clientId'), timeoutMs: CHECK_TIMEOUT_MS });
    checks.push(run('psa', 'ConnectWise Manage', () => port.checkAccess(), (error) => readConnectWiseManage(error, psa)));
  } else if (psa?.kind === 'autotask') {
    const port = new AutotaskPsa({ baseUrl: req(psa, 'baseUrl'), username: req(psa, 'username'), secret: req(psa, 'secret'), integrationCode: req(psa, 'integrationCode'), timeoutMs: CHECK_TIMEOUT_MS });
    checks.push(run('psa', 'Autotask', () => port.checkAccess(), (error) => readAutotask(error, psa)));
  }
  if (rmm) {
    const client = new ConnectWiseAutomateClient({ baseUrl: req(rmm, 'baseUrl'), username: req(rmm, 'username'), password: req(rmm, 'password'), clientId: req(rmm, 'clientId'), timeoutMs: CHECK_TIMEOUT_MS });
    checks.push(run('rmm', 'ConnectWise Automate', async () => {
      // A token, then one authenticated read.
      for await (const _ of client.clients({ pageSize: 1 })) break;
    }, readAutomate));
  }
  await Promise.all(checks);
  return result;
}
