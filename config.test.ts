import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';
import { TEST_KEY } from './test/fixtures/test-keys.ts';

const valid = { DATABASE_URL: 'postgres://u:p@db:5432/integration', ENCRYPTION_KEY: TEST_KEY };

describe('configuration', () => {
  it('fills the documented defaults', () => {
    const config = loadConfig(valid);
    expect(config.temporal).toEqual({ address: 'localhost:7233', namespace: 'default', uiUrl: 'http://localhost:8233' });
    expect(config.api).toMatchObject({ port: 3000, publicUrl: 'http://localhost:3000', adminToken: undefined });
    expect(config.production).toBe(false);
    expect(config.metricsPort).toBe(9464);
    expect(config.vendorTimeoutMs).toBe(30_000);
    expect(loadConfig({ ...valid, VENDOR_TIMEOUT_SECONDS: '5' }).vendorTimeoutMs).toBe(5_000);
  });

  it('stops with the variable named when one is missing or wrong', () => {
    expect(() => loadConfig({ ENCRYPTION_KEY: TEST_KEY })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ ...valid, DATABASE_URL: 'mysql://x/y' })).toThrow(/DATABASE_URL: must be a postgres:\/\/ URL/);
    expect(() => loadConfig({ DATABASE_URL: valid.DATABASE_URL })).toThrow(/ENCRYPTION_KEY: is required/);
    expect(() => loadConfig({ ...valid, ENCRYPTION_KEY: 'c2hvcnQ=' })).toThrow(/ENCRYPTION_KEY: must be 32 random bytes/);
    expect(() => loadConfig({ ...valid, ADMIN_TOKEN: 'short' })).toThrow(/ADMIN_TOKEN: must be at least 24 characters/);
    expect(() => loadConfig({ ...valid, PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...valid, VENDOR_TIMEOUT_SECONDS: '0' })).toThrow(/VENDOR_TIMEOUT_SECONDS/);
  });

  it('never puts a secret into its error message', () => {
    try {
      loadConfig({ ...valid, ENCRYPTION_KEY: 'dG9vLXNob3J0LXNlY3JldA==' });
    } catch (error) {
      expect(String(error)).not.toContain('dG9vLXNob3J0LXNlY3JldA==');
    }
  });
});
