import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { OTHER_TEST_KEY, TEST_KEY } from '../test/fixtures/test-keys.ts';
import { Keyring } from './keyring.ts';
import { ENCRYPTED_ENCODING, EncryptionCodec } from './payload-codec.ts';

const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');

describe('payload codec', () => {
  const codec = new EncryptionCodec(Keyring.fromBase64(TEST_KEY));
  const input = defaultPayloadConverter.toPayload({ v: 1, partnerId: 'c0ffee00-0000-4000-8000-000000000001' });

  it('turns a workflow input into ciphertext that names its encoding and key, and back', async () => {
    const [encrypted] = await codec.encode([input]);
    expect(text(encrypted?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encrypted?.metadata?.['encryption-key-id'])).toMatch(/^[0-9a-f]{12}$/);
    expect(text(encrypted?.data)).not.toContain('c0ffee00');
    const [decoded] = await codec.decode([encrypted!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual({ v: 1, partnerId: 'c0ffee00-0000-4000-8000-000000000001' });
  });

  it('leaves payloads that were never encrypted as they are', async () => {
    expect(await codec.decode([input])).toEqual([input]);
  });

  it('decodes payloads written under a previous key once the key has rotated', async () => {
    const [encrypted] = await codec.encode([input]);
    const rotated = new EncryptionCodec(Keyring.fromBase64(OTHER_TEST_KEY, [TEST_KEY]));
    const [decoded] = await rotated.decode([encrypted!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual({ v: 1, partnerId: 'c0ffee00-0000-4000-8000-000000000001' });
  });

  it('cannot decode without the key', async () => {
    const [encrypted] = await new EncryptionCodec(Keyring.fromBase64(OTHER_TEST_KEY)).encode([input]);
    await expect(codec.decode([encrypted!])).rejects.toThrow(/unknown key/);
  });
});
