import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/database.ts';
import { authenticateToken, ensureBootstrapToken, listTokens } from './api-tokens.ts';

describe('the ADMIN_TOKEN bootstrap', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  const first = 'first-bootstrap-token-0123456789';
  const second = 'second-bootstrap-token-9876543210';

  it('makes ADMIN_TOKEN an admin token, once however often the API starts', async () => {
    await ensureBootstrapToken(database.db, first);
    await ensureBootstrapToken(database.db, first);
    expect((await authenticateToken(database.db, first))?.role).toBe('admin');
    expect((await listTokens(database.db)).filter((token) => token.name.startsWith('bootstrap'))).toHaveLength(1);
  });

  it('revokes the previous value when ADMIN_TOKEN changes', async () => {
    await ensureBootstrapToken(database.db, second);
    expect(await authenticateToken(database.db, first)).toBeUndefined();
    expect((await authenticateToken(database.db, second))?.role).toBe('admin');
  });

  it('brings an earlier value back when ADMIN_TOKEN is set to it again', async () => {
    await ensureBootstrapToken(database.db, first);
    expect((await authenticateToken(database.db, first))?.role).toBe('admin');
    expect(await authenticateToken(database.db, second)).toBeUndefined();
  });
});
