import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpTransport, VendorApiError } from './http.ts';
import { guardedFetch, outboundAddressProblem, type Lookup } from './outbound-guard.ts';

/** DNS as the attacker would set it up, offline: names that resolve where vendor calls must never go. */
const fakeDns: Lookup = (hostname, _options, callback) => {
  const records: Record<string, string[]> = {
    'metadata.attacker.example': ['169.254.169.254'],
    'rebound.attacker.example': ['93.184.215.14', '169.254.169.254'],
    'mapped.attacker.example': ['::ffff:169.254.169.254'],
    'intranet.attacker.example': ['127.0.0.1'],
  };
  const addresses = records[hostname];
  if (!addresses) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
  callback(null, addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
};

describe('outbound address guard (connect time, SPEC F10.3)', () => {
  let server: ReturnType<typeof createServer>;
  let port: number;
  beforeAll(async () => {
    server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')).listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const transport = (host: string, production: boolean) =>
    new HttpTransport({ system: 'acronis', baseUrl: `http://${host}:${port}`, fetch: guardedFetch({ allowPrivate: !production }, fakeDns) });

  async function failure(host: string, production = false): Promise<VendorApiError> {
    const error = await transport(host, production).request({ method: 'GET', path: '/api/2/clients/me' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VendorApiError);
    return error as VendorApiError;
  }

  it('refuses a host name that resolves to the metadata service, before connecting, and for good', async () => {
    const error = await failure('metadata.attacker.example');
    expect(error).toMatchObject({ system: 'acronis', kind: 'network', retryable: false });
    expect(error.message).toContain('metadata.attacker.example resolves to 169.254.169.254, a cloud metadata address');
  });

  it('refuses a name whose addresses include a link-local one, written as IPv6 or not', async () => {
    expect((await failure('rebound.attacker.example')).message).toContain('169.254.169.254');
    expect((await failure('mapped.attacker.example')).message).toContain('::ffff:169.254.169.254');
  });

  it('refuses an address written in a URL the vendor gave (a next-page link), without any lookup', async () => {
    const error = await transport('127.0.0.1', false).request({ method: 'GET', path: 'http://169.254.169.254/latest/meta-data/' }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'network', retryable: false });
  });

  it('lets development reach loopback (the simulators) and refuses it in production', async () => {
    expect((await transport('intranet.attacker.example', false).request({ method: 'GET', path: '/' })).body).toEqual({ ok: true });
    expect((await failure('intranet.attacker.example', true)).message).toContain('a loopback or private address, refused in production');
  });

  it('judges addresses: link-local and metadata always, private networks only in production', () => {
    const development = { allowPrivate: true };
    const production = { allowPrivate: false };
    expect(outboundAddressProblem('169.254.1.1', development)).toBe('a link-local address');
    expect(outboundAddressProblem('fe80::1', development)).toBe('a link-local address');
    expect(outboundAddressProblem('100.100.100.200', development)).toBe('a cloud metadata address');
    expect(outboundAddressProblem('[fd00:ec2::254]', development)).toBe('a cloud metadata address');
    expect(outboundAddressProblem('0.0.0.0', development)).toBe('an unspecified address');
    expect(outboundAddressProblem('10.1.2.3', development)).toBeNull();
    for (const address of ['10.1.2.3', '172.20.0.1', '192.168.1.1', '127.0.0.1', '::1', 'fd12::1', '100.64.0.1']) expect(outboundAddressProblem(address, production), address).not.toBeNull();
    expect(outboundAddressProblem('93.184.215.14', production)).toBeNull();
    expect(outboundAddressProblem('eu2-cloud.acronis.com', production)).toBeNull();
  });
});
