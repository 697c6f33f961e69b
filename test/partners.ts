import { randomUUID } from 'node:crypto';
import type { Db } from '../db/connection.ts';
import { insertPartner, saveCredential } from '../db/partners.ts';
import { insertDefaultSettings } from '../db/settings.ts';
import { SecretBox } from '../security/secret-box.ts';
import type { Keyring } from '../security/keyring.ts';

/** A partner as the API would have stored it, for tests that start below the API. */
export async function seedPartner(db: Db, keyring: Keyring, name = `Partner ${randomUUID().slice(0, 8)}`): Promise<string> {
  const id = randomUUID();
  const box = new SecretBox(keyring);
  await db.transaction().execute(async (tx) => {
    await insertPartner(tx, { id, name, timezone: 'Europe/Berlin', psaKind: 'autotask', rmmKind: null });
    await saveCredential(tx, id, {
      system: 'acronis',
      kind: 'acronis',
      visible: { baseUrl: 'http://localhost:4101', clientId: 'sim-client' },
      sealedSecrets: box.seal(JSON.stringify({ clientSecret: 'sim-secret' }), `partner:${id}:acronis`),
    });
    await saveCredential(tx, id, {
      system: 'psa',
      kind: 'autotask',
      visible: { baseUrl: 'http://localhost:4103', username: 'sim-api@example.com' },
      sealedSecrets: box.seal(JSON.stringify({ secret: 'sim-secret', integrationCode: 'SIMINTEGRATIONCODE' }), `partner:${id}:psa`),
    });
    await insertDefaultSettings(tx, id);
  });
  return id;
}
