import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../free-port.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ADMIN_TOKEN = 'aci_e2e-admin-token-0123456789abcdef';
const SECRET = 'e2e-acronis-secret-77c1';

interface Stack {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ port, host: 'localhost' });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/**
 * `npm start` as a user runs it (node dev/start.ts is what the script runs), on free ports and a
 * scratch data directory: embedded PostgreSQL, the Temporal dev server with its Web UI, worker, API.
 */
describe('npm start (the whole stack, end to end over HTTP)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'engine-e2e-'));
  chmodSync(dataDir, 0o755);
  const ports = { api: 0, temporal: 0, ui: 0, postgres: 0 };
  let api: string;
  let ui: string;
  let stack: Stack;
  let partnerId: string;

  async function launch(): Promise<Stack> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(ports.api),
      TEMPORAL_PORT: String(ports.temporal),
      TEMPORAL_UI_PORT: String(ports.ui),
      EMBEDDED_PG_PORT: String(ports.postgres),
      ADMIN_TOKEN,
      DEMO: 'off',
    };
    delete env.DATABASE_URL;
    delete env.TEMPORAL_ADDRESS;
    delete env.ENCRYPTION_KEY;
    const child = spawn(process.execPath, [join(ROOT, 'dev/start.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const deadline = Date.now() + 90_000;
    while (!output.includes('is running.')) {
      if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
      if (Date.now() > deadline) throw new Error(`npm start did not come up within 90 s:\n${output}`);
      await new Promise((wait) => setTimeout(wait, 250));
    }
    return { process: child, output: () => output, exited };
  }

  async function stop(current: Stack): Promise<number | null> {
    current.process.kill('SIGINT');
    return current.exited;
  }

  const call = (method: string, path: string, body?: unknown) =>
    fetch(api + path, {
      method,
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });

  beforeAll(async () => {
    for (const name of Object.keys(ports) as (keyof typeof ports)[]) ports[name] = await freePort();
    api = `http://localhost:${ports.api}`;
    ui = `http://localhost:${ports.ui}`;
    stack = await launch();
  }, 120_000);

  afterAll(async () => {
    if (stack?.process.exitCode === null) await stop(stack);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers /healthz ok and prints where everything is', async () => {
    expect(await (await fetch(`${api}/healthz`)).json()).toEqual({ status: 'ok', checks: { db: 'ok', temporal: 'ok' } });
    expect(stack.output()).toContain(`Admin API        ${api}`);
    expect(stack.output()).toContain(`Temporal Web UI  ${ui}`);
  });

  it('registers a partner whose workflow partner/<id> the Web UI lists', async () => {
    const response = await call('POST', '/v1/partners', {
      name: 'E2E MSP',
      timezone: 'Europe/Vienna',
      acronis: { baseUrl: 'http://localhost:4101', clientId: 'sim-client', clientSecret: SECRET },
      psa: { kind: 'autotask', baseUrl: 'http://localhost:4103', username: 'sim-api@example.com', secret: 'sim-secret', integrationCode: 'SIMINTEGRATIONCODE' },
    });
    expect(response.status).toBe(201);
    partnerId = ((await response.json()) as { id: string }).id;
    const query = encodeURIComponent(`WorkflowId="partner/${partnerId}"`);
    let listed: { executions?: { execution: { workflowId: string }; status: string }[] } = {};
    for (let tries = 0; tries < 40 && !listed.executions?.length; tries++) {
      listed = (await (await fetch(`${ui}/api/v1/namespaces/default/workflows?query=${query}`)).json()) as typeof listed;
      if (!listed.executions?.length) await new Promise((wait) => setTimeout(wait, 250));
    }
    expect(listed.executions?.[0]).toMatchObject({ execution: { workflowId: `partner/${partnerId}` }, status: 'WORKFLOW_EXECUTION_STATUS_RUNNING' });
    // The worker was ready when npm start said so: the supervisor loads the partner within moments.
    const started = Date.now();
    let workflow: any;
    while (workflow?.state?.phase !== 'running' && Date.now() - started < 3_000) {
      workflow = await (await call('GET', `/v1/partners/${partnerId}/workflow`)).json();
    }
    expect(workflow.state).toMatchObject({ phase: 'running', profile: { psaKind: 'autotask', timezone: 'Europe/Vienna' } });
  });

  it('shows the Web UI only ciphertext, which the codec endpoint decodes for a token holder', async () => {
    const history = (await (await fetch(`${ui}/api/v1/namespaces/default/workflows/${encodeURIComponent(`partner/${partnerId}`)}/history`)).json()) as any;
    const input = history.history.events[0].workflowExecutionStartedEventAttributes.input;
    expect(Buffer.from(input.payloads[0].metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
    expect(JSON.stringify(history)).not.toContain(partnerId.replace(/-/g, '').slice(0, 12));
    expect(Buffer.from(input.payloads[0].data, 'base64').toString('latin1')).not.toContain(partnerId);

    const settings = (await (await fetch(`${ui}/api/v1/settings`)).json()) as { Codec: { Endpoint: string } };
    expect(settings.Codec.Endpoint).toBe(`${api}/codec`);
    const decode = (headers: Record<string, string>) =>
      fetch(`${api}/codec/decode`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', ...headers }, body: JSON.stringify(input) });
    expect((await decode({})).status).toBe(401);
    const decoded = (await (await decode({ Authorization: `Bearer ${ADMIN_TOKEN}` })).json()) as any;
    expect(JSON.parse(Buffer.from(decoded.payloads[0].data, 'base64').toString())).toEqual({ v: 1, partnerId });
  });

  it('lets a browser sign in to the codec once and decode with the session cookie', async () => {
    const login = await fetch(`${api}/codec/session`, { method: 'POST', body: new URLSearchParams({ token: ADMIN_TOKEN }) });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const encoded = await fetch(`${api}/codec/encode`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: ui, Cookie: cookie.split(';')[0]! },
      body: JSON.stringify({ payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"hello"').toString('base64') }] }),
    });
    expect(encoded.status).toBe(200);
    expect(encoded.headers.get('access-control-allow-origin')).toBe(ui);
    expect(encoded.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('never shows the secret, in answers or in its output', async () => {
    const partner = await (await call('GET', `/v1/partners/${partnerId}`)).text();
    expect(partner).toContain('"secretSet":true');
    expect(partner).not.toContain(SECRET);
    expect(stack.output()).not.toContain(SECRET);
  });

  it('stops everything on Ctrl-C, and keeps the state for the next start', async () => {
    expect(await stop(stack)).toBe(0);
    for (const port of Object.values(ports)) expect(await portAnswers(port)).toBe(false);

    stack = await launch();
    expect((await call('GET', `/v1/partners/${partnerId}`)).status).toBe(200);
    let workflow: any;
    for (let tries = 0; tries < 40 && !workflow?.state?.profile; tries++) {
      workflow = await (await call('GET', `/v1/partners/${partnerId}/workflow`)).json();
      if (!workflow?.state?.profile) await new Promise((wait) => setTimeout(wait, 250));
    }
    expect(workflow).toMatchObject({ status: 'RUNNING', state: { partnerId, profile: { timezone: 'Europe/Vienna' } } });
    expect(await stop(stack)).toBe(0);
  });
});
