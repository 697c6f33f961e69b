import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CREDENTIALS } from '../../simulators/default-credentials.ts';
import { createAutomateSimulator } from '../../simulators/automate/simulator.ts';
import { listen, type RunningServer } from '../../simulators/kit/serve.ts';
import { SimClock } from '../../simulators/kit/sim-clock.ts';
import { createSimulatorApp } from '../../simulators/kit/simulator-app.ts';
import type { AcronisAgentHost, AgentRegistration } from '../../simulators/world.ts';
import { requestLog } from '../../test/simulators.ts';
import { VendorApiError } from '../http.ts';
import { ConnectWiseAutomateClient, type ConnectWiseAutomateOptions } from './client.ts';
import { where } from './condition.ts';
import { collect } from '../collect.ts';

/**
 * The Automate simulator on its own, with a stand-in Acronis cloud that accepts one registration
 * token: this file tests the client and the simulator's script logic; test/automate-world.test.ts
 * tests the link to the real Acronis simulator.
 */
class StandInAcronis implements AcronisAgentHost {
  static readonly TOKEN = 'GOOD-TOKN-0001';
  readonly agents = new Map<string, { agentId: string; tenantId: string; version: string }>();

  registerAgent(input: { registrationToken: string; machineKey: string }): AgentRegistration {
    if (input.registrationToken !== StandInAcronis.TOKEN) return { ok: false, reason: 'the registration token is unknown or expired' };
    const agent = { agentId: `agent-${input.machineKey}`, tenantId: 'tenant-1', version: '15.0.100' };
    this.agents.set(input.machineKey, agent);
    return { ok: true, agentId: agent.agentId, tenantId: agent.tenantId };
  }

  unregisterAgent(machineKey: string): boolean {
    return this.agents.delete(machineKey);
  }

  upgradeAgent(machineKey: string): boolean {
    const agent = this.agents.get(machineKey);
    if (agent) agent.version = '15.0.200';
    return agent !== undefined;
  }

  agentOf(machineKey: string) {
    return this.agents.get(machineKey);
  }

  /** The agent on an Automate computer: machine keys are `automate:<server>:<computerId>`. */
  agentOfComputer(computerId: number) {
    return [...this.agents].find(([machineKey]) => machineKey.endsWith(`:${computerId}`))?.[1];
  }
}

const INSTALL = 6101;
const INSTALL_WITH_MONITOR = 6102;
const UNINSTALL = 6103;
const EXECUTE_COMMAND = 2;

const acronis = new StandInAcronis();
const clock = new SimClock();
let server: RunningServer;
let url: string;

const credentials = DEFAULT_CREDENTIALS.automate;
const automate = (changes: Partial<ConnectWiseAutomateOptions> = {}) =>
  new ConnectWiseAutomateClient({ baseUrl: url, username: credentials.username, password: credentials.password, clientId: credentials.clientId, ...changes });
const control = async (method: string, path: string, body?: unknown) => {
  const response = await fetch(`${url}/_sim/${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw new Error(`${method} /_sim/${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? undefined : ((await response.json()) as any);
};
const advanceClock = (ms: number) => control('POST', 'clock', { advanceMs: ms });
const failure = (promise: Promise<unknown>) => promise.then(() => expect.fail('expected a VendorApiError'), (error: unknown) => error as VendorApiError);

async function addComputer(cwa: ConnectWiseAutomateClient, name: string, os = 'Microsoft Windows Server 2022', online = true): Promise<number> {
  const [existing] = await collect(cwa.clients({ condition: where.eq('Name', 'Contoso') }));
  const client = existing ?? (await cwa.createClient({ Name: 'Contoso' }));
  const location = client.Locations[0] ?? (await cwa.createLocation({ Name: 'Head Office', ClientId: client.Id }));
  const computer = await control('POST', 'computers', { clientId: client.Id, locationId: location.Id, name, os, online });
  return computer.Id as number;
}

beforeAll(async () => {
  server = await listen(createSimulatorApp(createAutomateSimulator({ clock, agents: acronis }), clock), 0);
  url = server.url;
});
afterAll(() => server.close());
beforeEach(async () => {
  acronis.agents.clear();
  await control('POST', 'reset');
  clock.reset();
});

describe('ConnectWise Automate client: tokens', () => {
  it('signs in once with the ClientId header and reuses the token', async () => {
    const cwa = automate();
    await collect(cwa.clients());
    await collect(cwa.computers());
    const log = await requestLog(url);
    expect(log.map(({ method, path, status }) => `${method} ${path} ${status}`)).toEqual(['POST /cwa/api/v1/apitoken 200', 'GET /cwa/api/v1/Clients 200', 'GET /cwa/api/v1/Computers 200']);
  });

  it('refreshes a token that is about to expire through apitoken/refresh, before any 401', async () => {
    await control('PATCH', 'settings', { tokenLifetimeSeconds: 30 });
    const cwa = automate({ refreshMarginMs: 60_000 });
    await collect(cwa.clients());
    await collect(cwa.clients());
    const log = await requestLog(url);
    expect(log.map(({ method, path, status }) => `${method} ${path} ${status}`)).toEqual([
      'POST /cwa/api/v1/apitoken 200',
      'GET /cwa/api/v1/Clients 200',
      'POST /cwa/api/v1/apitoken/refresh 200',
      'GET /cwa/api/v1/Clients 200',
    ]);
  });

  it('after the token expired on the server, signs in again and retries the call once', async () => {
    const cwa = automate();
    await cwa.createClient({ Name: 'Before expiry' });
    await advanceClock(3_601_000);
    await expect(collect(cwa.clients())).resolves.toMatchObject([{ Name: 'Before expiry' }]);
    const log = await requestLog(url);
    expect(log.slice(2).map(({ method, path, status }) => `${method} ${path} ${status}`)).toEqual([
      'GET /cwa/api/v1/Clients 401',
      'POST /cwa/api/v1/apitoken/refresh 401',
      'POST /cwa/api/v1/apitoken 200',
      'GET /cwa/api/v1/Clients 200',
    ]);
  });

  it('a missing ClientId is a clear auth error, not retried as a stale token', async () => {
    const error = await failure(collect(automate({ clientId: '' }).clients()));
    expect(error).toBeInstanceOf(VendorApiError);
    expect(error).toMatchObject({ system: 'connectwise-automate', kind: 'auth', status: 401, retryable: false });
    expect(error.message).toMatch(/ClientId header is required/);
    expect((await requestLog(url)).map(({ path }) => path)).toEqual(['/cwa/api/v1/apitoken']);
  });

  it('wrong credentials and an unregistered ClientId are auth errors naming the cause', async () => {
    expect((await failure(collect(automate({ password: 'wrong' }).clients()))).message).toMatch(/user name or password is incorrect/);
    expect((await failure(collect(automate({ clientId: 'someone-else' }).clients()))).message).toMatch(/ClientId 'someone-else' is not registered/);
  });

  it('a two-factor account signs in only with its passcode', async () => {
    await control('PATCH', 'settings', { twoFactorRequired: true, twoFactorPasscode: '424242' });
    const error = await failure(collect(automate().clients()));
    expect(error).toMatchObject({ kind: 'auth' });
    expect(error.message).toMatch(/two-factor passcode/);
    await expect(collect(automate({ twoFactorPasscode: '424242' }).clients())).resolves.toEqual([]);
  });
});

describe('ConnectWise Automate client: lists', () => {
  it('pages with page/pageSize until the empty page after a full last page', async () => {
    const cwa = automate({ pageSize: 2 });
    for (const name of ['Alpha', 'Bravo', 'Charlie', 'Delta']) await cwa.createClient({ Name: name });
    expect((await collect(cwa.clients())).map((client) => client.Name)).toEqual(['Alpha', 'Bravo', 'Charlie', 'Delta']);
    const pages = (await requestLog(url)).filter((entry) => entry.method === 'GET').map((entry) => new URLSearchParams(entry.query).get('page'));
    expect(pages).toEqual(['1', '2', '3']);
  });

  it('stops at a short page without asking for another', async () => {
    const cwa = automate({ pageSize: 2 });
    for (const name of ['Alpha', 'Bravo', 'Charlie']) await cwa.createClient({ Name: name });
    expect(await collect(cwa.clients())).toHaveLength(3);
    expect((await requestLog(url)).filter((entry) => entry.method === 'GET')).toHaveLength(2);
  });

  it('filters computers with built conditions: nested fields, like, in, array contains, quotes in values', async () => {
    const cwa = automate();
    const server = await addComputer(cwa, 'SRV-FILES');
    const laptop = await addComputer(cwa, "O'Brien's laptop", 'Microsoft Windows 11 Pro');
    const names = async (condition: ReturnType<typeof where.eq>) => (await collect(cwa.computers({ condition }))).map((computer) => computer.ComputerName);

    const [contoso] = await collect(cwa.clients());
    expect(await names(where.and(where.eq('Client.Id', contoso!.Id), where.eq('Status', 'Online')))).toEqual(['SRV-FILES', "O'Brien's laptop"]);
    expect(await names(where.and(where.eq('Type', 'Server'), where.like('OperatingSystemName', '%Windows%')))).toEqual(['SRV-FILES']);
    expect(await names(where.eq('ComputerName', "O'Brien's laptop"))).toEqual(["O'Brien's laptop"]);
    expect(await names(where.in('Id', [laptop, 999]))).toEqual(["O'Brien's laptop"]);
    expect(await names(where.contains('OpenPortsTCP', 3389))).toEqual(['SRV-FILES']);
    expect(await names(where.or(where.notLike('ComputerName', 'SRV%'), where.eq('Id', server)))).toEqual(['SRV-FILES', "O'Brien's laptop"]);
    expect(await names(where.lte('RemoteAgentLastContact', new Date(Date.now() - 86_400_000)))).toEqual([]);
  });

  it('refuses a condition it cannot quote safely, and reports a server-side condition error as validation', async () => {
    expect(() => where.eq('ComputerName', `it's "quoted"`)).toThrow(VendorApiError);
    expect(() => where.eq('Name) or (Id', 1)).toThrow(/not a field name/);
    await addComputer(automate(), 'SRV-FILES');
    const error = await failure(collect(automate().computers({ condition: where.eq('NoSuchField', 1) })));
    expect(error).toMatchObject({ kind: 'validation', status: 400 });
    expect(error.message).toMatch(/Invalid condition/);
  });

  it('orders and trims fields on request', async () => {
    const cwa = automate();
    for (const name of ['Alpha', 'Bravo']) await cwa.createClient({ Name: name });
    expect(await collect(cwa.clients({ orderBy: 'Name desc', includeFields: ['Id', 'Name'] }))).toEqual([
      { Id: 2, Name: 'Bravo' },
      { Id: 1, Name: 'Alpha' },
    ]);
  });
});

describe('ConnectWise Automate client: scripts', () => {
  it('finds the Acronis plugin scripts in their folder with their parameters', async () => {
    const scripts = await collect(automate().scripts({ condition: where.like('Name', 'Acronis Data Cloud agent%') }));
    expect(scripts.map(({ Id, Name, Parameters, Folder }) => ({ Id, Name, Parameters, Folder: Folder?.Name }))).toEqual([
      { Id: INSTALL, Name: 'Acronis Data Cloud agent Install/Upgrade', Parameters: ['RegistrationToken'], Folder: 'Acronis' },
      { Id: INSTALL_WITH_MONITOR, Name: 'Acronis Data Cloud agent Install/Upgrade with backup monitor', Parameters: ['RegistrationToken'], Folder: 'Acronis' },
      { Id: UNINSTALL, Name: 'Acronis Data Cloud agent Uninstall', Parameters: [], Folder: 'Acronis' },
    ]);
  });

  it('a scheduled install runs, completes and leaves the agent registered; upgrade and uninstall follow', async () => {
    const cwa = automate();
    const computerId = await addComputer(cwa, 'SRV-FILES');
    const schedule = await cwa.scheduleScript(computerId, INSTALL, { RegistrationToken: StandInAcronis.TOKEN });
    expect(schedule).toMatchObject({ ScriptId: INSTALL, ComputerId: computerId, Parameters: `RegistrationToken=${StandInAcronis.TOKEN}|` });
    expect(await collect(cwa.runningScripts(computerId))).toMatchObject([{ ScriptId: INSTALL, Status: 'Running' }]);
    expect(await collect(cwa.scriptHistory(computerId))).toEqual([]);

    await advanceClock(5_000);
    expect(await collect(cwa.runningScripts(computerId))).toMatchObject([{ Status: 'Completed' }]);
    expect(await collect(cwa.scriptHistory(computerId))).toMatchObject([{ ScriptId: INSTALL, Status: 'Success', Output: expect.stringContaining('registered') }]);
    expect(acronis.agentOfComputer(computerId)).toMatchObject({ version: '15.0.100' });

    await cwa.executeScript(INSTALL_WITH_MONITOR, [computerId]);
    await advanceClock(5_000);
    expect(acronis.agentOfComputer(computerId)).toMatchObject({ version: '15.0.200' });

    await cwa.executeScript(UNINSTALL, [computerId]);
    await advanceClock(5_000);
    expect(acronis.agentOfComputer(computerId)).toBeUndefined();
    expect((await collect(cwa.scriptHistory(computerId))).map((entry) => entry.Status)).toEqual(['Success', 'Success', 'Success']);
  });

  it('a refused registration token is a failed run with the reason in its output', async () => {
    const cwa = automate();
    const computerId = await addComputer(cwa, 'SRV-FILES');
    const result = await cwa.executeScript(INSTALL, [computerId], { RegistrationToken: 'EXPI-REDT-OKEN' });
    expect(result.ContainsUnsuccessfulResults).toBe(false);
    await advanceClock(5_000);
    expect(await collect(cwa.scriptHistory(computerId))).toMatchObject([{ Status: 'Failed', Output: expect.stringContaining('the registration token is unknown or expired') }]);
    expect(acronis.agents.size).toBe(0);
  });

  it('a script run on an unknown computer is not-found for one computer and an unsuccessful result in a batch', async () => {
    const cwa = automate();
    const computerId = await addComputer(cwa, 'SRV-FILES');
    const error = await failure(cwa.scheduleScript(999, INSTALL, { RegistrationToken: StandInAcronis.TOKEN }));
    expect(error).toMatchObject({ kind: 'not-found', status: 404, operation: 'POST /Computers/{id}/ScheduledScripts' });

    const result = await cwa.executeScript(INSTALL, [computerId, 999], { RegistrationToken: StandInAcronis.TOKEN });
    expect(result.ContainsUnsuccessfulResults).toBe(true);
    expect(result.ScriptResults).toMatchObject([
      { EntityId: computerId, ResultDetails: { ResultStatus: 0 } },
      { EntityId: 999, ResultDetails: { ResultStatus: 1, Message: 'Computer 999 was not found.' } },
    ]);
    const unknownScript = await cwa.executeScript(424_242, [computerId]);
    expect(unknownScript.ScriptResults).toMatchObject([{ ResultDetails: { ResultStatus: 1, Message: 'Script 424242 was not found.' } }]);
  });

  it('an offline computer keeps the script queued until it checks in, unless told to skip offline agents', async () => {
    const cwa = automate();
    const computerId = await addComputer(cwa, 'LAPTOP-7', 'Microsoft Windows 11 Pro', false);
    await cwa.executeScript(INSTALL, [computerId], { RegistrationToken: StandInAcronis.TOKEN });
    const skipped = await cwa.executeScript(INSTALL, [computerId], { RegistrationToken: StandInAcronis.TOKEN }, { skipOffline: true });
    expect(skipped.ScriptResults).toMatchObject([{ ResultDetails: { ResultStatus: 1, Message: expect.stringContaining('offline') } }]);

    await advanceClock(60_000);
    expect(await collect(cwa.runningScripts(computerId))).toMatchObject([{ Status: 'Pending' }]);
    expect(acronis.agents.size).toBe(0);

    await control('PUT', `computers/${computerId}/status`, { online: true });
    await advanceClock(5_000);
    expect((await collect(cwa.scriptHistory(computerId))).map((entry) => entry.Status)).toEqual(['Success', 'Skipped']);
    expect(acronis.agentOfComputer(computerId)).toBeDefined();
  });

  it('a batch scheduled for later waits for its start time', async () => {
    const cwa = automate();
    const computerId = await addComputer(cwa, 'SRV-FILES');
    await cwa.executeScript(INSTALL, [computerId], { RegistrationToken: StandInAcronis.TOKEN }, { startAt: new Date(Date.now() + 3_600_000) });
    expect(await collect(cwa.scheduledScripts(computerId))).toHaveLength(1);
    await advanceClock(60_000);
    expect(await collect(cwa.runningScripts(computerId))).toEqual([]);
    await advanceClock(3_600_000);
    expect(await collect(cwa.scriptHistory(computerId))).toMatchObject([{ Status: 'Success' }]);
  });
});

describe('ConnectWise Automate client: commands, tickets and alerts', () => {
  it('runs a command and polls it from Pending to Success with its output', async () => {
    await control('PATCH', 'settings', { commandDurationMs: 200 });
    const cwa = automate();
    const computerId = await addComputer(cwa, 'SRV-FILES');
    const queued = await cwa.executeCommand(computerId, EXECUTE_COMMAND, ['cmd.exe!!! /c "hostname"']);
    expect(queued).toMatchObject({ Status: 'Pending', Command: { Id: EXECUTE_COMMAND } });
    const done = await cwa.runCommand(computerId, EXECUTE_COMMAND, ['cmd.exe!!! /c "hostname"'], { pollIntervalMs: 50, timeoutMs: 1_000 });
    expect(done).toMatchObject({ Status: 'Success', Output: 'SRV-FILES' });
    const failed = await cwa.runCommand(computerId, EXECUTE_COMMAND, ['cmd.exe!!! /c "exit /b 3"'], { pollIntervalMs: 50, timeoutMs: 1_000 });
    expect(failed).toMatchObject({ Status: 'Failed', Output: 'The command exited with code 3.' });
  });

  it('gives up polling a command an offline agent keeps queued, without resending it', async () => {
    await control('PATCH', 'settings', { commandDurationMs: 200 });
    const cwa = automate();
    const computerId = await addComputer(cwa, 'LAPTOP-7', 'Microsoft Windows 11 Pro', false);
    const error = await failure(cwa.runCommand(computerId, EXECUTE_COMMAND, ['cmd.exe!!! /c "hostname"'], { pollIntervalMs: 50, timeoutMs: 300 }));
    expect(error).toMatchObject({ kind: 'timeout', retryable: false });
    expect(error.message).toMatch(/still Pending/);
    expect((await requestLog(url)).filter((entry) => entry.method === 'POST' && entry.path.endsWith('/CommandExecute'))).toHaveLength(1);
  });

  it('reads tickets and alerts raised by the Acronis monitors; the API refuses to write them', async () => {
    const cwa = automate();
    const computerId = await addComputer(cwa, 'SRV-FILES');
    await control('POST', 'alerts', { computerId, monitor: 'Acronis Backup - Computers - Missed Backups', severity: 'Warning', message: 'No backup for 3 days', ticket: { externalId: 5150 } });
    expect(await collect(cwa.alerts())).toMatchObject([{ Monitor: { Name: 'Acronis Backup - Computers - Missed Backups' }, Severity: 'Warning', Computer: { Id: computerId, Name: 'SRV-FILES' } }]);
    expect(await collect(cwa.computerAlerts(computerId))).toHaveLength(1);
    const [ticket] = await collect(cwa.tickets({ condition: where.eq('ExternalId', 5150) }));
    expect(ticket).toMatchObject({ ExternalId: 5150, Client: { Name: 'Contoso' } });
    await expect(cwa.ticket(ticket!.TicketId)).resolves.toMatchObject({ TicketId: ticket!.TicketId });

    const session = await (await fetch(`${url}/cwa/api/v1/apitoken`, { method: 'POST', headers: { 'content-type': 'application/json', ClientId: credentials.clientId }, body: JSON.stringify({ UserName: credentials.username, Password: credentials.password }) })).json() as { AccessToken: string };
    const write = await fetch(`${url}/cwa/api/v1/Tickets`, { method: 'POST', headers: { 'content-type': 'application/json', ClientId: credentials.clientId, Authorization: `Bearer ${session.AccessToken}` }, body: '{"Subject":"x"}' });
    expect(write.status).toBe(405);
  });
});
