import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpTransport, VendorApiError } from '../../clients/http.ts';
import { addFault, requestLog } from '../../test/simulators.ts';
import { listen, type RunningServer } from './serve.ts';
import { SimClock } from './sim-clock.ts';
import { createSimulatorApp } from './simulator-app.ts';

// A one-route vendor: enough to prove the control surface and the shared transport against each other.
let writes = 0;
const api = new Hono();
api.post('/things', (c) => {
  writes++;
  return c.json({ id: writes }, 201);
});
api.get('/things', (c) => c.json({ items: writes }));

let server: RunningServer;
let simulator: ReturnType<typeof createSimulatorApp>;
const transport = () => new HttpTransport({ system: 'acronis', baseUrl: server.url, timeoutMs: 500 });

beforeAll(async () => {
  simulator = createSimulatorApp(
    {
      name: 'test',
      api,
      vendorError: (c, status, message) => c.json({ error: { message } }, status as 400),
      state: () => ({ writes }),
      reset: () => (writes = 0),
    },
    new SimClock(),
  );
  server = await listen(simulator, 0);
});
afterAll(() => server.close());
beforeEach(async () => {
  await fetch(`${server.url}/_sim/reset`, { method: 'POST' });
});

describe('simulator control surface', () => {
  it('logs every vendor request with its status (and a write its JSON body), but not control requests', async () => {
    await transport().request({ method: 'POST', path: '/things', json: { quantity: 3 } });
    await transport().send({ method: 'GET', path: '/nowhere?x=1' });
    const log = await requestLog(server.url);
    expect(log.map(({ method, path, query, status, body }) => ({ method, path, query, status, body }))).toEqual([
      { method: 'POST', path: '/things', query: '', status: 201, body: { quantity: 3 } },
      { method: 'GET', path: '/nowhere', query: '?x=1', status: 404, body: undefined },
    ]);
  });

  it('a status fault answers in the vendor error shape with Retry-After, then runs out', async () => {
    await addFault(server.url, { match: '^/things$', method: 'post', kind: 'status', status: 503, retryAfterSeconds: 7, times: 1 });
    const error = await transport().request({ method: 'POST', path: '/things' }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(VendorApiError);
    expect(error).toMatchObject({ kind: 'unavailable', status: 503, retryable: true, retryAfterMs: 7000 });
    expect(writes).toBe(0);
    await expect(transport().request({ method: 'POST', path: '/things' })).resolves.toMatchObject({ status: 201, body: { id: 1 } });
  });

  it('a rate-limit fault is a 429 that asks for a wait', async () => {
    await addFault(server.url, { match: 'things', kind: 'rate-limit', retryAfterSeconds: 3 });
    await expect(transport().request({ method: 'GET', path: '/things' })).rejects.toMatchObject({ kind: 'rate-limited', retryable: true, retryAfterMs: 3000 });
  });

  it('timeout-after-commit applies the write and withholds the answer past the client timeout', async () => {
    await addFault(server.url, { match: '^/things$', method: 'POST', kind: 'timeout-after-commit', times: 1 });
    await expect(transport().request({ method: 'POST', path: '/things' })).rejects.toMatchObject({ kind: 'timeout', retryable: true });
    expect(writes).toBe(1);
    const state = await (await fetch(`${server.url}/_sim/state`)).json();
    expect(state).toEqual({ writes: 1 });
  });

  it('ends one fault by its id, saying how many answers it had left, and leaves the others', async () => {
    await addFault(server.url, { match: '^/things$', method: 'POST', kind: 'timeout-after-commit', times: 3 });
    const outage = (await (await fetch(`${server.url}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ match: '.*', kind: 'status', status: 503 }) })).json()) as { id: number };
    const listed = (await (await fetch(`${server.url}/_sim/faults`)).json()) as { id: number; kind: string; remaining?: number }[];
    const lostAnswers = listed.find((fault) => fault.kind === 'timeout-after-commit')!;
    const ended = await fetch(`${server.url}/_sim/faults/${lostAnswers.id}`, { method: 'DELETE' });
    expect([ended.status, await ended.json()]).toEqual([200, expect.objectContaining({ id: lostAnswers.id, kind: 'timeout-after-commit', remaining: 3 })]);
    expect((await fetch(`${server.url}/_sim/faults/${lostAnswers.id}`, { method: 'DELETE' })).status).toBe(404);
    await expect(transport().request({ method: 'POST', path: '/things' })).rejects.toMatchObject({ status: 503 });
    expect((await fetch(`${server.url}/_sim/faults/${outage.id}`, { method: 'DELETE' })).status).toBe(200);
    await expect(transport().request({ method: 'POST', path: '/things' })).resolves.toMatchObject({ status: 201 });
  });

  it('latency delays the answer', async () => {
    await addFault(server.url, { match: 'things', kind: 'latency', delayMs: 200, times: 1 });
    const started = Date.now();
    await transport().request({ method: 'GET', path: '/things' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('refuses a malformed fault, naming the field', async () => {
    const response = await fetch(`${server.url}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ match: '(', kind: 'explode' }) });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: { path: string }[] };
    expect(body.errors.map((error) => error.path).sort()).toEqual(['kind', 'match']);
  });

  it('a connection refused is a retryable network failure', async () => {
    const closed = new HttpTransport({ system: 'autotask', baseUrl: 'http://localhost:1' });
    await expect(closed.request({ method: 'GET', path: '/x' })).rejects.toMatchObject({ kind: 'network', retryable: true });
  });
});
