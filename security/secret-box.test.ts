import { describe, expect, it } from 'vitest';
import { OTHER_TEST_KEY, TEST_KEY } from '../test/fixtures/test-keys.ts';
import { Keyring, parseMasterKey } from './keyring.ts';
import { SecretBox, SecretBoxError } from './secret-box.ts';

describe('secrets at rest', () => {
  const box = new SecretBox(Keyring.fromBase64(TEST_KEY));

  it('opens what it sealed, and the sealed form does not contain the secret', () => {
    const sealed = box.seal('{"privateKey":"sim-private"}', 'partner:p1:psa');
    expect(sealed).not.toContain('sim-private');
    expect(sealed).toMatch(/^v1:[0-9a-f]{12}:/);
    expect(box.open(sealed, 'partner:p1:psa')).toBe('{"privateKey":"sim-private"}');
  });

  it('seals the same secret differently each time', () => {
    expect(box.seal('same', 'ctx')).not.toBe(box.seal('same', 'ctx'));
  });

  it('refuses a sealed secret copied to another partner or system', () => {
    const sealed = box.seal('secret', 'partner:p1:psa');
    expect(() => box.open(sealed, 'partner:p2:psa')).toThrow(SecretBoxError);
    expect(() => box.open(sealed, 'partner:p1:acronis')).toThrow(SecretBoxError);
  });

  it('refuses a ciphertext with any byte changed', () => {
    const sealed = box.seal('secret', 'ctx');
    const [format, keyId, data] = sealed.split(':');
    const bytes = Buffer.from(data!, 'base64url');
    for (const position of [0, 12, bytes.length - 1]) {
      const tampered = Buffer.from(bytes);
      tampered[position]! ^= 0x01;
      expect(() => box.open(`${format}:${keyId}:${tampered.toString('base64url')}`, 'ctx')).toThrow(SecretBoxError);
    }
  });

  it('still opens secrets sealed under a previous key after rotation, and seals new ones under the new key', () => {
    const sealedBefore = box.seal('old secret', 'ctx');
    const rotated = new SecretBox(Keyring.fromBase64(OTHER_TEST_KEY, [TEST_KEY]));
    expect(rotated.open(sealedBefore, 'ctx')).toBe('old secret');
    expect(() => box.open(rotated.seal('new secret', 'ctx'), 'ctx')).toThrow(/unknown key/);
  });

  it('rejects an ENCRYPTION_KEY that is not 32 bytes of base64', () => {
    expect(() => parseMasterKey('c2hvcnQ=')).toThrow(/32 random bytes/);
    expect(() => parseMasterKey('not base64 at all!!')).toThrow(/32 random bytes/);
    expect(parseMasterKey(TEST_KEY)).toHaveLength(32);
  });
});
