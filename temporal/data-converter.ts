import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec } from '../security/payload-codec.ts';
import type { Keyring } from '../security/keyring.ts';

/** The same converter on every client and worker: payloads are encrypted before they reach Temporal. */
export function encryptedDataConverter(keyring: Keyring): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(keyring)] };
}
