import { describe, expect, it } from 'vitest';
import { outboundUrlProblem } from './outbound-url.ts';
import { isIanaTimeZone, partnerSchemas, splitCredential } from './partner.ts';

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

describe('partner input', () => {
  it('needs a real IANA time zone', () => {
    expect(isIanaTimeZone('Europe/Berlin')).toBe(true);
    expect(isIanaTimeZone('America/Argentina/Buenos_Aires')).toBe(true);
    expect(isIanaTimeZone('UTC')).toBe(true);
    expect(isIanaTimeZone('+01:00')).toBe(false);
    expect(isIanaTimeZone('Mars/Olympus')).toBe(false);
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
