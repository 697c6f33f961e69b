import type { Payload, PayloadCodec } from '@temporalio/common';
import { ValueError } from '@temporalio/common';
import proto from '@temporalio/proto';
import { decrypt, encrypt } from './aes-gcm.ts';
import type { Keyring } from './keyring.ts';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/**
 * Encrypts every payload (workflow inputs, results, signals, queries, memos, failures' details)
 * before it leaves the process, so Temporal's database and Web UI only ever hold ciphertext.
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly keyring: Keyring;

  constructor(keyring: Keyring) {
    this.keyring = keyring;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keyring.currentKey('payload-codec');
    return payloads.map((payload) => ({
      metadata: {
        encoding: textEncoder.encode(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: textEncoder.encode(id),
      },
      data: encrypt(key, proto.temporal.api.common.v1.Payload.encode(payload).finish()),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.encoding;
      if (!encoding || textDecoder.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
      const keyIdBytes = payload.metadata?.[KEY_ID_METADATA];
      const keyId = keyIdBytes ? textDecoder.decode(keyIdBytes) : '';
      const derived = this.keyring.findKey('payload-codec', keyId);
      if (!derived) throw new ValueError(`payload encrypted with unknown key "${keyId}"`);
      if (!payload.data) throw new ValueError('encrypted payload has no data');
      return proto.temporal.api.common.v1.Payload.decode(decrypt(derived.key, payload.data));
    });
  }
}
