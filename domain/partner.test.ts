import { describe, expect, it } from 'vitest';
import { outboundUrlProblem } from './outbound-url.ts';
import { isIanaTimeZone, partnerSchemas, sameAcronisAccount, splitCredential, vendorBaseUrl } from './partner.ts';

const dev = { requireHttps: false };
const production = { requireHttps: true };

describe('vendor URLs given by admins', () => {
  it('are accepted as http in development (the simulators) and only as https in production', () => {
    expect(outboundUrlProblem('http://localhost:4101', dev)).toBeNull();
    expect(outboundUrlProblem('http://localhost:4101', production)).toBe('must use https');
    expect(outboundUrlProblem('https://eu2-cloud.acronis.com', production)).toBeNull();
  });

  it('never point at link-local addresses or cloud metadata services', () => {
    expect(outboundUrlProblem('https://169.254.169.254/latest', production)).toBe('must not point to a link-local address');
    expect(outboundUrlProblem('https://[fe80::1]/', production)).toBe('must not point to a link-local address');
    expect(outboundUrlProblem('https://metadata.google.internal/', production)).toBe('must not point to a cloud metadata service');
  });

  it('carry no credentials, query or other scheme', () => {
    expect(outboundUrlProblem('https://user:pw@example.com', production)).toBe('must not contain credentials');
    expect(outboundUrlProblem('https://example.com/?token=1', production)).toBe('must not contain a query or fragment');
    expect(outboundUrlProblem('ftp://example.com', dev)).toBe('must use https');
    expect(outboundUrlProblem('example.com', dev)).toMatch(/absolute URL/);
  });
});

describe('vendor base URLs as admins paste them', () => {
  it('keep the server when the API path comes with it', () => {
    expect(vendorBaseUrl('acronis', 'https://eu2-cloud.acronis.com/api/2/', production)).toEqual({ url: 'https://eu2-cloud.acronis.com' });
    expect(vendorBaseUrl('acronis', 'https://EU2-Cloud.acronis.com:443/api/2/tenants', production)).toEqual({ url: 'https://eu2-cloud.acronis.com' });
    expect(vendorBaseUrl('acronis', 'https://eu2-cloud.acronis.com///', production)).toEqual({ url: 'https://eu2-cloud.acronis.com' });
    expect(vendorBaseUrl('connectwise-manage', 'https://api-na.myconnectwise.net/v4_6_release/apis/3.0/', production)).toEqual({ url: 'https://api-na.myconnectwise.net' });
    expect(vendorBaseUrl('connectwise-manage', 'https://api-eu.myconnectwise.net/v2025_1/apis/3.0', production)).toEqual({ url: 'https://api-eu.myconnectwise.net' });
    expect(vendorBaseUrl('autotask', 'https://webservices5.autotask.net/ATServicesRest/V1.0/', production)).toEqual({ url: 'https://webservices5.autotask.net' });
    expect(vendorBaseUrl('connectwise-automate', 'https://acme.hostedrmm.com/cwa/api/v1/', production)).toEqual({ url: 'https://acme.hostedrmm.com' });
    expect(vendorBaseUrl('connectwise-automate', 'http://localhost:4104', dev)).toEqual({ url: 'http://localhost:4104' });
  });

  it('refuse any other path, and what the outbound policy refuses', () => {
    expect(vendorBaseUrl('acronis', 'https://eu2-cloud.acronis.com/ui/', production)).toEqual({ problem: expect.stringContaining('without a path') });
    expect(vendorBaseUrl('acronis', 'https://eu2-cloud.acronis.com/apis', production)).toEqual({ problem: expect.stringContaining('without a path') });
    expect(vendorBaseUrl('connectwise-manage', 'https://na.myconnectwise.net/api/2', production)).toEqual({ problem: expect.stringContaining('without a path') });
    expect(vendorBaseUrl('connectwise-automate', 'https://acme.hostedrmm.com/automate/', production)).toEqual({ problem: expect.stringContaining('without a path') });
    expect(vendorBaseUrl('acronis', 'https://eu2-cloud.acronis.com/api/2?x=1', production)).toEqual({ problem: 'must not contain a query or fragment' });
    expect(vendorBaseUrl('acronis', 'http://eu2-cloud.acronis.com', production)).toEqual({ problem: 'must use https' });
  });

  it('identify an Acronis account by its server and API client, however they were written', () => {
    const account = { baseUrl: 'https://eu2-cloud.acronis.com', clientId: '3f1c0b9e-aaaa-4bbb-8ccc-000000000001' };
    expect(sameAcronisAccount(account, { baseUrl: 'https://EU2-cloud.acronis.com/api/2/', clientId: account.clientId.toUpperCase() })).toBe(true);
    expect(sameAcronisAccount(account, { ...account, baseUrl: 'https://us5-cloud.acronis.com' })).toBe(false);
    expect(sameAcronisAccount(account, { ...account, clientId: '3f1c0b9e-aaaa-4bbb-8ccc-000000000002' })).toBe(false);
    // Two API clients of one partner tenant are one account.
    const tenantId = '7a0e1c2d-1111-4222-8333-444455556666';
    expect(sameAcronisAccount({ ...account, tenantId }, { ...account, clientId: '3f1c0b9e-aaaa-4bbb-8ccc-000000000002', tenantId: tenantId.toUpperCase() })).toBe(true);
    expect(sameAcronisAccount({ ...account, tenantId }, { ...account, tenantId: null })).toBe(true);
  });
});

describe('partner input', () => {
  it('needs a real IANA time zone', () => {
    expect(isIanaTimeZone('Europe/Berlin')).toBe(true);
    expect(isIanaTimeZone('America/Argentina/Buenos_Aires')).toBe(true);
    expect(isIanaTimeZone('UTC')).toBe(true);
    expect(isIanaTimeZone('+01:00')).toBe(false);
    expect(isIanaTimeZone('Mars/Olympus')).toBe(false);
    expect(isIanaTimeZone('Etc/GMT-14')).toBe(true);
    expect(isIanaTimeZone('America/Port-au-Prince')).toBe(true);
  });

  it('refuses a long near-miss time zone without backtracking through it (which took longer than the test may)', () => {
    expect(isIanaTimeZone(`A${'-a'.repeat(2_000)}!`)).toBe(false);
    expect(isIanaTimeZone(`Etc/${'-a'.repeat(25)}!`)).toBe(false);
  });

  it('separates secret fields from the ones that may be shown, per vendor', () => {
    expect(splitCredential('connectwise-manage', { kind: 'connectwise-manage', baseUrl: 'u', companyId: 'c', publicKey: 'pub', privateKey: 'priv', clientId: 'id' })).toEqual({
      visible: { baseUrl: 'u', companyId: 'c', publicKey: 'pub', clientId: 'id' },
      secrets: { privateKey: 'priv' },
    });
    expect(splitCredential('autotask', { username: 'u', secret: 's', integrationCode: 'i' }).secrets).toEqual({ secret: 's', integrationCode: 'i' });
  });

  it('names each missing or unknown field', () => {
    const result = partnerSchemas(dev).create.safeParse({
      name: 'P',
      timezone: 'Europe/Berlin',
      acronis: { baseUrl: 'http://localhost:4101', clientId: 'c', clientSecret: 's', tenant: 'x' },
      psa: { kind: 'autotask', baseUrl: 'http://localhost:4103', username: 'u', secret: 's' },
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((issue) => [issue.path.join('.'), issue.code]);
    expect(paths).toEqual(expect.arrayContaining([['acronis', 'unrecognized_keys'], ['psa.integrationCode', 'invalid_type']]));
  });
});
