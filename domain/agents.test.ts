import { describe, expect, it } from 'vitest';
import { derivedId, nextComputerStep, policyFor, protectionStatus, sameHost, type ComputerObservation } from './agents.ts';

const now = new Date('2025-03-10T12:00:00Z');
const windowEnds = new Date('2025-03-11T12:00:00Z');
const timeoutMs = 15 * 60_000;
const fresh = { claimedAt: null, sentAt: null, waitUntil: null };
const sent = { claimedAt: new Date('2025-03-10T11:59:00Z'), sentAt: new Date('2025-03-10T11:59:01Z'), waitUntil: new Date('2025-03-10T12:14:01Z') };
const online: ComputerObservation = { inAutomate: true, online: true, agent: null, scriptFailure: null };
const agent = { id: 'a1', upToDate: true, online: true };

describe('a deployment computer’s next step', () => {
  it('installs on an online computer without an agent, and succeeds once the agent registered', () => {
    expect(nextComputerStep('install', fresh, online, now, windowEnds, timeoutMs)).toEqual({ kind: 'act' });
    expect(nextComputerStep('install', sent, { ...online, agent }, now, windowEnds, timeoutMs)).toEqual({ kind: 'succeed', agentId: 'a1', reason: null });
    expect(nextComputerStep('install', sent, online, now, windowEnds, timeoutMs)).toMatchObject({ kind: 'wait', status: 'running' });
  });

  it('waits for an offline computer until the window closes, then fails it as offline', () => {
    expect(nextComputerStep('install', fresh, { ...online, online: false }, now, windowEnds, timeoutMs)).toMatchObject({ kind: 'wait', status: 'pending', reason: expect.stringMatching(/^offline/) });
    expect(nextComputerStep('install', fresh, { ...online, online: false }, windowEnds, windowEnds, timeoutMs)).toMatchObject({ kind: 'fail', reason: expect.stringMatching(/^offline: the computer did not come online/) });
  });

  it('reports a failed script and a registration that never came', () => {
    expect(nextComputerStep('install', sent, { ...online, scriptFailure: 'registration refused' }, now, windowEnds, timeoutMs)).toEqual({ kind: 'fail', reason: 'script failed: registration refused' });
    expect(nextComputerStep('install', sent, online, sent.waitUntil, windowEnds, timeoutMs)).toMatchObject({ kind: 'fail', reason: expect.stringMatching(/^no registration before the deadline: .* within 15 minutes/) });
  });

  it('checks Automate before sending again a script whose send has no known outcome', () => {
    expect(nextComputerStep('install', { ...fresh, claimedAt: now }, { ...online, agent }, now, windowEnds, timeoutMs)).toEqual({ kind: 'verify-claim' });
  });

  it('uninstalls only where an agent is registered, and succeeds once it left', () => {
    expect(nextComputerStep('uninstall', fresh, online, now, windowEnds, timeoutMs)).toEqual({ kind: 'succeed', agentId: null, reason: 'no agent was registered in Acronis' });
    expect(nextComputerStep('uninstall', fresh, { ...online, agent }, now, windowEnds, timeoutMs)).toEqual({ kind: 'act' });
    expect(nextComputerStep('uninstall', sent, online, now, windowEnds, timeoutMs)).toEqual({ kind: 'succeed', agentId: null, reason: null });
  });

  it('updates outdated agents through Acronis and leaves current ones alone', () => {
    expect(nextComputerStep('update', fresh, { ...online, agent }, now, windowEnds, timeoutMs)).toEqual({ kind: 'succeed', agentId: 'a1', reason: 'the agent was already up to date' });
    expect(nextComputerStep('update', fresh, { ...online, agent: { ...agent, upToDate: false } }, now, windowEnds, timeoutMs)).toEqual({ kind: 'act' });
    expect(nextComputerStep('update', sent, { ...online, agent: { ...agent, upToDate: false } }, now, windowEnds, timeoutMs)).toMatchObject({ kind: 'wait', status: 'running' });
    expect(nextComputerStep('update', fresh, online, now, windowEnds, timeoutMs)).toMatchObject({ kind: 'fail' });
  });

  it('fails a computer that left Automate', () => {
    expect(nextComputerStep('install', fresh, { ...online, inAutomate: false }, now, windowEnds, timeoutMs)).toEqual({ kind: 'fail', reason: 'the computer is no longer in Automate' });
  });
});

describe('policies, hosts, ids and status', () => {
  it('takes the location’s policy over its client’s', () => {
    const policies = [{ clientId: 1, locationId: null, name: 'client' }, { clientId: 1, locationId: 7, name: 'location' }];
    expect(policyFor(policies, 1, 7)?.name).toBe('location');
    expect(policyFor(policies, 1, 8)?.name).toBe('client');
    expect(policyFor(policies, 2, 7)).toBeUndefined();
  });

  it('matches an agent’s fully qualified host name to the computer’s name', () => {
    expect(sameHost('rdg-fs01.riverside.local', 'RDG-FS01')).toBe(true);
    expect(sameHost('RDG-FS02', 'RDG-FS01')).toBe(false);
  });

  it('derives one stable id per source and tenant', () => {
    const id = derivedId('9f6f0d3c-1111-4222-8333-444455556666', 'tenant-a');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(derivedId('9F6F0D3C-1111-4222-8333-444455556666', 'TENANT-A')).toBe(id);
    expect(derivedId('9f6f0d3c-1111-4222-8333-444455556666', 'tenant-b')).not.toBe(id);
  });

  it('takes the worst last result of the plans on a machine', () => {
    expect(protectionStatus(false, [])).toBe('not-protected');
    expect(protectionStatus(true, [])).toBe('not-protected');
    expect(protectionStatus(true, ['ok', 'running'])).toBe('ok');
    expect(protectionStatus(true, ['ok', 'warning'])).toBe('warning');
    expect(protectionStatus(true, ['warning', 'critical'])).toBe('error');
  });
});
