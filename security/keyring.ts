import { createHash, hkdfSync } from 'node:crypto';

/** What a derived key is used for; each purpose gets its own key so one never decrypts another's data. */
export type KeyPurpose = 'secrets-at-rest' | 'payload-codec' | 'codec-session';

const PURPOSES: readonly KeyPurpose[] = ['secrets-at-rest', 'payload-codec', 'codec-session'];
const MASTER_KEY_BYTES = 32;

export interface DerivedKey {
  /** Public fingerprint stored beside ciphertext, so data sealed under a rotated key can still be opened. */
  id: string;
  key: Buffer;
}

export class InvalidEncryptionKeyError extends Error {}

export function parseMasterKey(base64: string): Buffer {
  const text = base64.trim();
  const key = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || key.length !== MASTER_KEY_BYTES) {
    throw new InvalidEncryptionKeyError(`must be ${MASTER_KEY_BYTES} random bytes, base64-encoded (openssl rand -base64 32)`);
  }
  return key;
}

function derive(master: Buffer, purpose: KeyPurpose): DerivedKey {
  const key = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `acronis-msp-integration/${purpose}`, 32));
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 12), key };
}

/**
 * The current master key encrypts; previous master keys only decrypt, so the key can be rotated
 * without re-encrypting everything at once.
 */
export class Keyring {
  private readonly derived: Map<KeyPurpose, DerivedKey[]>;

  constructor(current: Buffer, previous: Buffer[] = []) {
    this.derived = new Map(PURPOSES.map((purpose) => [purpose, [current, ...previous].map((master) => derive(master, purpose))]));
  }

  static fromBase64(current: string, previous: string[] = []): Keyring {
    return new Keyring(parseMasterKey(current), previous.map(parseMasterKey));
  }

  currentKey(purpose: KeyPurpose): DerivedKey {
    const [current] = this.derived.get(purpose) ?? [];
    if (!current) throw new Error(`no key for ${purpose}`);
    return current;
  }

  findKey(purpose: KeyPurpose, id: string): DerivedKey | undefined {
    return this.derived.get(purpose)?.find((candidate) => candidate.id === id);
  }
}
