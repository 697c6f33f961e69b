import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveTemporalExecutable } from './temporal-binaries.ts';

function fakeBinary(dir: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, '#!/bin/sh\n');
  chmodSync(path, 0o755);
  return path;
}

describe('finding the Temporal binaries', () => {
  const onPath = mkdtempSync(join(tmpdir(), 'bin-path-'));
  const elsewhere = mkdtempSync(join(tmpdir(), 'bin-env-'));
  const pathCli = fakeBinary(onPath, 'temporal');
  const pathTestServer = fakeBinary(onPath, 'temporal-test-server');
  const envCli = fakeBinary(elsewhere, 'my-temporal');

  it('prefers the environment variable over PATH', () => {
    const found = resolveTemporalExecutable('dev-server', { TEMPORAL_CLI_PATH: envCli, PATH: onPath });
    expect(found.executable).toEqual({ type: 'existing-path', path: envCli });
    expect(found.source).toContain('TEMPORAL_CLI_PATH');
  });

  it('uses PATH when no variable is set', () => {
    expect(resolveTemporalExecutable('dev-server', { PATH: onPath }).executable).toEqual({ type: 'existing-path', path: pathCli });
    expect(resolveTemporalExecutable('test-server', { PATH: onPath }).executable).toEqual({ type: 'existing-path', path: pathTestServer });
  });

  it("falls back to the SDK's download when the binary is nowhere", () => {
    // An empty PATH also hides python3, so pip's scripts folder is not consulted either.
    expect(resolveTemporalExecutable('test-server', { PATH: '' }).executable).toEqual({ type: 'cached-download' });
  });

  it('says so when the variable points at nothing, instead of silently looking elsewhere', () => {
    expect(() => resolveTemporalExecutable('test-server', { TEMPORAL_TEST_SERVER_PATH: join(elsewhere, 'missing'), PATH: onPath })).toThrow(
      /TEMPORAL_TEST_SERVER_PATH is set to .*missing, which is not an executable file/,
    );
  });
});
