import { decrypt, encrypt } from './aes-gcm.ts';
import type { Keyring } from './keyring.ts';

const FORMAT = 'v1';

export class SecretBoxError extends Error {}

/**
 * Seals credentials for storage. The context (for example `partner:<id>:psa`) is authenticated
 * data: a sealed value copied to another row does not open there.
 */
export class SecretBox {
  private readonly keyring: Keyring;

  constructor(keyring: Keyring) {
    this.keyring = keyring;
  }

  seal(plaintext: string, context: string): string {
    const { id, key } = this.keyring.currentKey('secrets-at-rest');
    const sealed = encrypt(key, Buffer.from(plaintext, 'utf8'), Buffer.from(context, 'utf8'));
    return `${FORMAT}:${id}:${sealed.toString('base64url')}`;
  }

  open(sealedValue: string, context: string): string {
    const [format, keyId, data] = sealedValue.split(':');
    if (format !== FORMAT || !keyId || !data) throw new SecretBoxError('unrecognised sealed secret format');
    const derived = this.keyring.findKey('secrets-at-rest', keyId);
    if (!derived) throw new SecretBoxError(`secret sealed with unknown key ${keyId}; is ENCRYPTION_KEY the one it was written with?`);
    try {
      return decrypt(derived.key, Buffer.from(data, 'base64url'), Buffer.from(context, 'utf8')).toString('utf8');
    } catch {
      throw new SecretBoxError(`secret for ${context} failed authentication`);
    }
  }
}
