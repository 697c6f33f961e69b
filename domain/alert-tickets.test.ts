import { describe, expect, it } from 'vitest';
import type { Alert } from '../clients/acronis/types.ts';
import { mappingFor, routingOf } from './alert-mappings.ts';
import { alertTitle, identityKey, identityOf, nanosOf, onOccurrence, onResolve, parseKey, stormKey, ticketDescription, ticketReference, ticketSummary, type TicketLinkView } from './alert-tickets.ts';

const DAY_MS = 86_400_000;

function alert(overrides: Partial<Alert> = {}): Alert {
  return {
    id: '01C2D69A-112B-4F0E-9C9B-7A1D2E3F4A5B',
    type: 'BackupFailed',
    category: 'Backup',
    severity: 'critical',
    details: { planId: 'plan-1', planName: 'Daily', resourceId: 'b1f0c6a4-1111-4c1e-9a55-0c2b1d8e7f10', resourceName: 'FILESRV01', error: { text: 'The backup location is not reachable' } },
    createdAt: '2026-03-01T10:00:00.123456789Z',
    receivedAt: '2026-03-01T10:00:00.123456789Z',
    updatedAt: '2026-03-01T10:00:00.123456789Z',
    tenant: { id: '1002', uuid: 'a7d8c1e2-0000-4000-8000-000000000001', locator: '/1/1001/1002/' },
    ...overrides,
  };
}

describe('an alert identity', () => {
  it('is the customer, the alert type and the resource, in ids only', () => {
    const identity = identityOf(alert(), '250');
    expect(identity).toEqual({ psaCompanyId: '250', alertType: 'BackupFailed', resourceKey: 'b1f0c6a4-1111-4c1e-9a55-0c2b1d8e7f10' });
    expect(identityKey(identity)).toBe('250/BackupFailed/b1f0c6a4-1111-4c1e-9a55-0c2b1d8e7f10');
    // Another plan failing on the same machine is the same identity: one ticket.
    expect(identityOf(alert({ id: 'OTHER', details: { ...alert().details, planId: 'plan-2' } }), '250')).toEqual(identity);
  });

  it('names a resource without an id by a digest of its name, and a tenant-wide alert as such', () => {
    const byName = identityOf(alert({ details: { resourceName: "Jane's laptop" } }), '250');
    expect(byName.resourceKey).toMatch(/^name-[0-9a-f]{16}$/);
    expect(identityKey(byName)).not.toContain('Jane');
    expect(identityOf(alert({ type: 'DrStorageHardQuotaExceeds', details: {} }), '250').resourceKey).toBe('tenant');
    expect(identityOf(alert({ type: 'odd type/with slash' }), '250').alertType).toMatch(/^h-[0-9a-f]{16}$/);
  });

  it('parses back from its key, as a storm digest does', () => {
    expect(parseKey('250/BackupFailed/abc')).toEqual({ kind: 'alert', identity: { psaCompanyId: '250', alertType: 'BackupFailed', resourceKey: 'abc' } });
    expect(parseKey(stormKey('250', 1_700_000_000_000))).toEqual({ kind: 'digest', psaCompanyId: '250', startedAtMs: 1_700_000_000_000 });
  });

  it('gets a reference within Autotask\'s 50 characters, one per ticket generation', () => {
    const key = identityKey(identityOf(alert(), '250'));
    expect(ticketReference(key, 1)).toMatch(/^acronis-alert:[0-9a-f]{24}$/);
    expect(ticketReference(key, 12).length).toBeLessThanOrEqual(50);
    expect(ticketReference(key, 2)).not.toBe(ticketReference(key, 1));
  });
});

describe('what the ticket says', () => {
  it('names the resource and the alert in the summary, the details in the description', () => {
    expect(ticketSummary(alert())).toBe('[FILESRV01] Backup failed');
    const description = ticketDescription(alert());
    expect(description).toContain('Protection plan: Daily');
    expect(description).toContain('Details: The backup location is not reachable');
    expect(description).toContain('01C2D69A-112B-4F0E-9C9B-7A1D2E3F4A5B');
  });

  it('reads titles of unknown and CyberApp types, and strips what PostgreSQL refuses', () => {
    expect(alertTitle({ type: 'AgentIsOutdated', details: {} })).toBe('Agent is outdated');
    expect(alertTitle({ type: 'cti.a.p.am.alert.v1.0~vendor.application.malware_detected.v1.0', details: { title: 'Malware found' } })).toBe('Malware found');
    expect(ticketSummary(alert({ details: { resourceName: 'SRV\u0000 01' } }))).toBe('[SRV 01] Backup failed');
  });

  it('reads Alert Manager time to the nanosecond', () => {
    expect(nanosOf('2026-03-01T10:00:00.123456789Z')).toBe(1_772_359_200_123_456_789n);
    expect(nanosOf('2026-03-01T10:00:00Z')).toBe(1_772_359_200_000_000_000n);
    expect(() => nanosOf('yesterday')).toThrow(RangeError);
  });
});

describe('what an occurrence does (F5.2)', () => {
  const closedAt = Date.UTC(2026, 2, 1, 12);
  const link = (overrides: Partial<TicketLinkView> = {}): TicketLinkView => ({ generation: 1, ticketId: '1001', closedAtMs: null, lastOccurrenceNs: 100n, ...overrides });
  const base = { occurrenceNs: 200n, nowMs: closedAt, newTicketAfterDays: null, timeZone: 'Europe/Berlin' };

  it('creates the first ticket, or tries again the one that failed', () => {
    expect(onOccurrence({ ...base, link: undefined, ticket: undefined })).toEqual({ action: 'create', generation: 1 });
    expect(onOccurrence({ ...base, link: link({ ticketId: null, generation: 2 }), ticket: undefined })).toEqual({ action: 'create', generation: 2 });
  });

  it('notes a repeat while open, and does nothing for an occurrence already noted', () => {
    expect(onOccurrence({ ...base, link: link(), ticket: { closed: false } })).toEqual({ action: 'note' });
    expect(onOccurrence({ ...base, link: link({ lastOccurrenceNs: 200n }), ticket: { closed: false } })).toEqual({ action: 'none' });
  });

  it('reopens a closed ticket, or opens the next one once it has been closed for N days', () => {
    const closed = link({ closedAtMs: closedAt });
    expect(onOccurrence({ ...base, link: closed, ticket: { closed: true }, nowMs: closedAt + 40 * DAY_MS })).toEqual({ action: 'reopen' });
    const withDays = { ...base, link: closed, ticket: { closed: true }, newTicketAfterDays: 3 };
    expect(onOccurrence({ ...withDays, nowMs: closedAt + 3 * DAY_MS - 1 })).toEqual({ action: 'reopen' });
    expect(onOccurrence({ ...withDays, nowMs: closedAt + 3 * DAY_MS })).toEqual({ action: 'new-ticket', generation: 2 });
  });

  it('counts N days from when a person closed it in the PSA, and opens anew when the PSA lost the ticket', () => {
    const byPerson = { ...base, link: link(), ticket: { closed: true, closedAtMs: closedAt }, newTicketAfterDays: 1 };
    expect(onOccurrence({ ...byPerson, nowMs: closedAt + DAY_MS })).toEqual({ action: 'new-ticket', generation: 2 });
    expect(onOccurrence({ ...base, link: link(), ticket: undefined })).toEqual({ action: 'new-ticket', generation: 2 });
  });
});

describe('what a resolve does (F5.3)', () => {
  it('closes the open ticket when auto-close is on and no other alert of the identity is active', () => {
    expect(onResolve({ ticket: { closed: false }, othersActive: false, autoClose: true })).toEqual({ action: 'close' });
    expect(onResolve({ ticket: { closed: false }, othersActive: false, autoClose: false })).toEqual({ action: 'note' });
    expect(onResolve({ ticket: { closed: false }, othersActive: true, autoClose: true })).toEqual({ action: 'none' });
    expect(onResolve({ ticket: { closed: true }, othersActive: false, autoClose: true })).toEqual({ action: 'none' });
  });
});

describe('alert mappings', () => {
  const mappings = [
    { alertType: '*', enabled: true, ticket: { boardId: 1, statusId: 2 } },
    { alertType: 'MachineOffline', enabled: false, ticket: {} },
    { alertType: 'BackupFailed', enabled: true, ticket: { boardId: 3, statusId: 4, subtypeId: 5 } },
  ];

  it('take the type\'s own entry, else the default, and an entry switched off makes no ticket', () => {
    expect(mappingFor(mappings, 'BackupFailed')?.ticket).toEqual({ boardId: 3, statusId: 4, subtypeId: 5 });
    expect(mappingFor(mappings, 'BackupCanceled')?.ticket).toEqual({ boardId: 1, statusId: 2 });
    expect(mappingFor(mappings, 'MachineOffline')).toBeUndefined();
    expect(mappingFor([], 'BackupFailed')).toBeUndefined();
  });

  it('route by the PSA the partner has', () => {
    expect(routingOf('connectwise-manage', { boardId: 3, statusId: 4, subtypeId: 5 })).toMatchObject({ kind: 'connectwise-manage', boardId: 3, statusId: 4, subTypeId: 5 });
    expect(routingOf('autotask', { boardId: 3, statusId: 4 })).toBeUndefined();
    expect(routingOf('autotask', { queueId: 7, status: 1, priority: 2 })).toMatchObject({ kind: 'autotask', queueId: 7, status: 1, priority: 2 });
  });
});
