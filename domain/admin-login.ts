/**
 * Logins of the customer admin user provisioning creates (F3.1). Acronis logins are global across
 * the platform, at least 3 characters of ASCII letters, digits and `.@_-+` (among a few others), so
 * a taken login gets a numbered variant; the variants are also how a later pass recognises the user
 * it made.
 */

const MAX_LOGIN = 60;
/** Variants tried after the login itself before giving up. */
export const LOGIN_VARIANTS = 20;

/** From a company name: `Müller & Söhne GmbH` → `muller.sohne.gmbh`. */
export function loginFromName(name: string): string {
  const ascii = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  const base = ascii
    .replace(/[^a-z0-9._-]+/g, '.')
    .replace(/[._-]{2,}/g, '.')
    .replace(/^[._-]+|[._-]+$/g, '')
    .slice(0, MAX_LOGIN)
    .replace(/[._-]+$/g, '');
  if (base.length >= 3) return base;
  return base ? `${base}.admin` : 'customer.admin';
}

/** From an e-mail address: the address itself, which Acronis accepts as a login. */
export function loginFromEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The login, then numbered variants (`acme.2`, `jane.2@acme.com`). */
export function loginCandidates(base: string): string[] {
  const at = base.indexOf('@');
  const numbered = (n: number) => (at < 0 ? `${base}.${n}` : `${base.slice(0, at)}.${n}${base.slice(at)}`);
  return [base, ...Array.from({ length: LOGIN_VARIANTS }, (_, index) => numbered(index + 2))];
}
