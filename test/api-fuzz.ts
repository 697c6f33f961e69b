/**
 * Fuzzing the admin API (F7.4) with Schemathesis: every operation `/openapi.json` documents, with
 * an admin token, against the real API and engine worker, the simulators behind two partners that
 * hold known secrets. Shared by the short run in `npm test` and the long one in `npm run bench`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PartnerClientsOptions } from '../clients/partner-clients.ts';
import type { Db } from '../db/connection.ts';
import { resolveSchemathesis } from '../dev/schemathesis.ts';
import type { Keyring } from '../security/keyring.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import { startSimulators } from '../simulators/index.ts';
import { startApiHarness, type ApiExchange } from './api-harness.ts';
import { newAcronisPartnerAccount } from './partners.ts';

/** What Schemathesis checks on every answer: no 5xx, only documented statuses, content types, headers and bodies. */
const CHECKS = ['not_a_server_error', 'status_code_conformance', 'content_type_conformance', 'response_headers_conformance', 'response_schema_conformance'];

export interface FuzzOptions {
  db: Db;
  keyring: Keyring;
  temporalAddress: string;
  /** At least this many requests: Schemathesis runs again, with the next seed, until the API has answered them. */
  requests: number;
  seed?: number;
  /** Secrets besides the partners' credentials and the admin token (the encryption key), by name. */
  secrets?: Record<string, string>;
  log?: (line: string) => void;
}

export interface FuzzReport {
  /** Requests the API answered to the fuzzer (the schema itself not counted). */
  requests: number;
  operations: number;
  /** Each answer that is the API's own fault: a 500 (or any 5xx other than the documented 502 and 503): `POST /v1/... -> 500: <body>`. */
  serverErrors: string[];
  /** Schemathesis's failures, one per operation and kind (with an example): an answer the document does not describe (status, content type, headers, body). */
  schemaMismatches: string[];
  /** A known secret in an answer: `<secret name> in GET /v1/... (200)`. */
  secretLeaks: string[];
}

/**
 * 502 (a vendor refused or is away) and 503 (Temporal or PostgreSQL is) are the API's documented
 * answers for what it does not control; whether a route documents them is `status_code_conformance`'s
 * business. Every other 5xx is the API's own failure.
 */
const GATEWAY_ANSWERS = new Set([502, 503]);
const CONFIG = `[cache]\nenabled = false\n\n[checks.not_a_server_error]\nexpected-statuses = ["2xx", "3xx", "4xx", "502", "503"]\n`;
/** Per Schemathesis run; more runs with other seeds reach the requested count with more varied data. */
const MAX_EXAMPLES_PER_RUN = 200;

/** The partners' vendor clients reach only the simulators, whatever base URL the fuzzer registers. */
function onlyTo(origins: readonly string[]): typeof fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (!origins.includes(url.origin)) return Promise.reject(new TypeError('fetch failed', { cause: new Error(`the fuzz run sends nothing to ${url.origin}`) }));
    return fetch(input, init);
  };
}

export async function fuzzApi(options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => undefined);
  const schemathesis = resolveSchemathesis();

  const simulators = await startSimulators({ acronis: 0, 'connectwise-manage': 0, autotask: 0, automate: 0 });
  const exchanges: ApiExchange[] = [];
  const partnerClients: PartnerClientsOptions = { fetch: onlyTo(Object.values(simulators.urls).map((url) => new URL(url).origin)) };
  const api = await startApiHarness(options.db, options.keyring, { temporalAddress: options.temporalAddress, partnerClients, observe: (exchange) => exchanges.push(exchange) });
  const reports = mkdtempSync(join(tmpdir(), 'api-fuzz-'));
  try {
    const secrets = await seedPartners(api, simulators.urls);
    secrets.set('the admin token', api.adminToken);
    for (const [name, secret] of Object.entries(options.secrets ?? {})) secrets.set(name, secret);
    const document = (await api.request('GET', '/openapi.json')).json as { paths: Record<string, object> };
    const operations = Object.values(document.paths).reduce((count, methods) => count + Object.keys(methods).length, 0);
    writeFileSync(join(reports, 'schemathesis.toml'), CONFIG);
    exchanges.length = 0;

    const failures = new Map<string, string>();
    const fuzzed = () => exchanges.filter((exchange) => exchange.path !== '/openapi.json');
    for (let seed = options.seed ?? 1; fuzzed().length < options.requests; seed++) {
      const events = join(reports, `run-${seed}.ndjson`);
      const args = [
        '--config-file', join(reports, 'schemathesis.toml'),
        'run', `${api.baseUrl}/openapi.json`,
        '--url', api.baseUrl,
        '--header', `Authorization: Bearer ${api.adminToken}`,
        '--checks', CHECKS.join(','),
        '--max-examples', String(Math.min(MAX_EXAMPLES_PER_RUN, Math.ceil((options.requests - fuzzed().length) / operations))),
        '--seed', String(seed),
        '--workers', '1',
        '--generation-database', 'none',
        '--report', 'ndjson',
        '--report-ndjson-path', events,
        '--no-color',
      ];
      const before = fuzzed().length;
      const output = await run(schemathesis, args, reports);
      log(`schemathesis run with seed ${seed}: ${fuzzed().length - before} requests; ${/=+ (.* in [\d.]+s) =+/.exec(output)?.[1] ?? output.slice(-2_000)}`);
      if (fuzzed().length === before) throw new Error(`schemathesis sent nothing:\n${output}`);
      for (const [kind, example] of readFailures(events)) if (!failures.has(kind)) failures.set(kind, example);
    }
    const answers = fuzzed();
    return {
      requests: answers.length,
      operations,
      serverErrors: answers.filter((answer) => answer.status >= 500 && !GATEWAY_ANSWERS.has(answer.status)).map((answer) => `${answer.method} ${answer.path} -> ${answer.status}: ${answer.body.slice(0, 300)}`),
      schemaMismatches: [...failures.values()],
      secretLeaks: answers.flatMap((answer) =>
        [...secrets]
          .filter(([, secret]) => answer.body.includes(secret) || [...answer.headers.values()].some((value) => value.includes(secret)))
          .map(([name]) => `${name} in ${answer.method} ${answer.path} (${answer.status})`),
      ),
    };
  } finally {
    rmSync(reports, { recursive: true, force: true });
    await api.close();
    await simulators.close();
  }
}

/**
 * Two partners on the simulators, registered through the API as an operator would: ConnectWise
 * Manage with Automate (the simulators' default credentials), and Autotask with an Acronis partner
 * account of its own (a random secret). Answers every secret they hold, by name.
 */
async function seedPartners(api: Awaited<ReturnType<typeof startApiHarness>>, urls: Record<'acronis' | 'connectwise-manage' | 'autotask' | 'automate', string>): Promise<Map<string, string>> {
  const acronis = DEFAULT_CREDENTIALS.acronis;
  const cwm = DEFAULT_CREDENTIALS['connectwise-manage'];
  const automate = DEFAULT_CREDENTIALS.automate;
  const autotask = DEFAULT_CREDENTIALS.autotask;
  const { clientId: secondClientId, clientSecret: secondSecret } = await newAcronisPartnerAccount(urls.acronis);
  const partners = [
    {
      name: 'Fuzz MSP (ConnectWise Manage)',
      timezone: 'America/New_York',
      acronis: { baseUrl: urls.acronis, clientId: acronis.clientId, clientSecret: acronis.clientSecret },
      psa: { kind: 'connectwise-manage', baseUrl: urls['connectwise-manage'], ...cwm },
      rmm: { kind: 'connectwise-automate', baseUrl: urls.automate, ...automate },
    },
    {
      name: 'Fuzz MSP (Autotask)',
      timezone: 'Europe/London',
      acronis: { baseUrl: urls.acronis, clientId: secondClientId, clientSecret: secondSecret },
      psa: { kind: 'autotask', baseUrl: urls.autotask, ...autotask },
    },
  ];
  for (const body of partners) {
    const created = await api.request('POST', '/v1/partners', { body });
    if (created.status !== 201) throw new Error(`could not register ${body.name}: ${created.status} ${created.text}`);
  }
  return new Map([
    ['the Acronis client secret', acronis.clientSecret],
    ['the second Acronis client secret', secondSecret],
    ['the ConnectWise Manage private key', cwm.privateKey],
    ['the Automate password', automate.password],
    ['the Autotask secret', autotask.secret],
  ]);
}

/** Runs a command in `cwd` to its end; answers its output (stdout and stderr), whatever its exit code. */
function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', reject);
    child.once('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

interface CheckOutcome {
  name: string;
  status: string;
  failure_info?: { failure: { operation: string; title: string; message: string } };
}

/**
 * The failed checks of a run's ndjson events, one per `<operation>: <title>` with an example (the
 * first line of its message); server errors are counted from the API's answers instead.
 */
function readFailures(path: string): Map<string, string> {
  const failures = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const finished = (JSON.parse(line) as { ScenarioFinished?: { recorder?: { checks?: Record<string, CheckOutcome[]> } } }).ScenarioFinished;
    for (const outcomes of Object.values(finished?.recorder?.checks ?? {})) {
      for (const { name, status, failure_info } of outcomes) {
        if (status !== 'failure' || name === 'not_a_server_error' || !failure_info) continue;
        const { operation, title, message } = failure_info.failure;
        const kind = `${operation}: ${title}`;
        if (!failures.has(kind)) failures.set(kind, `${kind}: ${message.split('\n')[0]}`);
      }
    }
  }
  return failures;
}
