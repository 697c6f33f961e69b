import { describe, expect, it } from 'vitest';
import { loginCandidates, loginFromEmail, loginFromName } from './admin-login.ts';

describe('admin logins', () => {
  it('are made of the company name in the characters Acronis accepts', () => {
    expect(loginFromName('Müller & Söhne GmbH')).toBe('muller.sohne.gmbh');
    expect(loginFromName('  ACME Corp.  ')).toBe('acme.corp');
    expect(loginFromName('AB')).toBe('ab.admin');
    expect(loginFromName('東京')).toBe('customer.admin');
    expect(loginFromName('x'.repeat(100))).toHaveLength(60);
  });

  it('or of the contact e-mail address', () => {
    expect(loginFromEmail(' Jane.Doe@Example.com ')).toBe('jane.doe@example.com');
  });

  it('get numbered variants when taken, keeping an address an address', () => {
    expect(loginCandidates('acme').slice(0, 3)).toEqual(['acme', 'acme.2', 'acme.3']);
    expect(loginCandidates('jane@acme.com').slice(0, 2)).toEqual(['jane@acme.com', 'jane.2@acme.com']);
    expect(loginCandidates('acme')).toHaveLength(21);
  });
});
