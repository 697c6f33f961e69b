import { describe, expect, it } from 'vitest';
import type { LedgerStatus, LineBaseline, LinePolicy } from './usage-lines.ts';
import { billedQuantity, changePercent, decideLine, figureMoved, inSoldUnit, reportedQuantity, runStatus } from './usage-lines.ts';

const GIB = 1024 ** 3;
const storage = (totalAndOverage: boolean, class1Free: boolean, class2Billed: boolean) => ({ totalAndOverage, class1Free, class2Billed });

describe('the quantity a PAYG line carries', () => {
  it.each([
    [7, 'quantity', 7, 'pieces stay pieces'],
    [5.5 * GIB, 'bytes', 5.5, 'bytes are binary GB'],
    [5400, 'seconds', 1.5, 'seconds are hours'],
  ] as const)('%s %s → %s (%s)', (value, unit, expected, _why) => {
    expect(inSoldUnit(value, unit)).toBe(expected);
  });

  it.each([
    [storage(true, false, false), 130, 100, 130, 'total, overage included'],
    [storage(true, true, true), 130, 100, 130, 'the total already holds both classes'],
    [storage(false, true, false), 130, 100, 100, 'class 1: the prepaid part'],
    [storage(false, false, true), 130, 100, 30, 'class 2: the part above what is prepaid'],
    [storage(false, true, true), 130, 100, 130, 'both classes add up to the total'],
    [storage(false, false, true), 80, 100, 0, 'nothing above the prepaid amount'],
    [storage(false, false, true), 80, 0, 80, 'no prepaid line: all of it is billed'],
    [storage(false, true, false), 80, 0, 0, 'no prepaid line: nothing is free'],
  ] as const)('storage %j, %s GB used, %s GB prepaid → %s (%s)', (choice, usedGb, prepaidGb, expected, _why) => {
    expect(reportedQuantity({ usage: usedGb * GIB, unit: 'bytes', prepaid: prepaidGb, storage: choice })).toBe(expected);
  });

  it('reports no storage when no class is chosen, and counts whatever the choice', () => {
    expect(reportedQuantity({ usage: 3 * GIB, unit: 'bytes', prepaid: 0, storage: storage(false, false, false) })).toBeNull();
    expect(reportedQuantity({ usage: 4, unit: 'quantity', prepaid: 10, storage: storage(false, false, false) })).toBe(4);
  });

  it('refuses a figure that is not a usage', () => {
    expect(() => inSoldUnit(-1, 'quantity')).toThrow(RangeError);
    expect(() => inSoldUnit(Number.NaN, 'bytes')).toThrow(RangeError);
  });

  it.each([
    [10.001, 'autotask', 11],
    [10, 'autotask', 10],
    [10.001, 'connectwise-manage', 10.01],
    [0.1 + 0.2, 'connectwise-manage', 0.3],
    [5.5, 'connectwise-manage', 5.5],
    [1.4 * 3, 'autotask', 5],
  ] as const)('%s on %s is billed as %s', (quantity, psa, expected) => {
    expect(billedQuantity(quantity, psa)).toBe(expected);
  });
});

const automatic: LinePolicy = { review: 'off', holdChangesAbovePercent: null, onDrift: 'report' };
const known = (value: number): LineBaseline => ({ reported: value, psaExpected: value, inFlight: undefined });
const fresh: LineBaseline = { reported: undefined, psaExpected: undefined, inFlight: undefined };

describe('what a run does with a line', () => {
  it('asks the PSA only when the figure moved', () => {
    expect(figureMoved(5, known(5))).toBe(false);
    expect(figureMoved(6, known(5))).toBe(true);
    expect(figureMoved(0, fresh)).toBe(true);
  });

  it.each<[string, { next: number; psaNow: number; baseline: LineBaseline; policy?: Partial<LinePolicy> }, string, RegExp | null]>([
    ['a new figure is written', { next: 6, psaNow: 5, baseline: known(5) }, 'write', null],
    ['a first figure is written over whatever the PSA had', { next: 6, psaNow: 2, baseline: fresh }, 'write', null],
    ['a PSA that holds it already needs nothing', { next: 6, psaNow: 6, baseline: fresh }, 'unchanged', null],
    ['a hand edit is a conflict', { next: 6, psaNow: 9, baseline: known(5) }, 'conflict', /holds 9, but the engine last left 5/],
    ['a hand edit to the very figure leaves nothing to do', { next: 9, psaNow: 9, baseline: known(5) }, 'unchanged', null],
    ['the engine owns the field: it writes over the edit', { next: 6, psaNow: 9, baseline: known(5), policy: { onDrift: 'engine-owns' } }, 'write', /engine owns the field/],
    ['a write of this run that landed is not drift', { next: 6, psaNow: 6, baseline: { reported: 5, psaExpected: 5, inFlight: 6 } }, 'unchanged', null],
    ['review holds every change', { next: 6, psaNow: 5, baseline: known(5), policy: { review: 'always' } }, 'hold', /review is on/],
    ['review does not hold what is not a change', { next: 5, psaNow: 5, baseline: { reported: undefined, psaExpected: 5, inFlight: undefined }, policy: { review: 'always' } }, 'unchanged', null],
    ['a move beyond the limit waits', { next: 13, psaNow: 10, baseline: known(10), policy: { holdChangesAbovePercent: 25 } }, 'hold', /30\.0 %, above the 25 %/],
    ['a move within the limit is written', { next: 12, psaNow: 10, baseline: known(10), policy: { holdChangesAbovePercent: 25 } }, 'write', null],
    ['exactly the limit is written', { next: 12.5, psaNow: 10, baseline: known(10), policy: { holdChangesAbovePercent: 25 } }, 'write', null],
    ['a fall counts like a rise', { next: 5, psaNow: 10, baseline: known(10), policy: { holdChangesAbovePercent: 25 } }, 'hold', /50\.0 %/],
    ['from nothing, any rise waits', { next: 1, psaNow: 0, baseline: known(0), policy: { holdChangesAbovePercent: 1000 } }, 'hold', /from 0/],
  ])('%s', (_, { next, psaNow, baseline, policy }, action, reason) => {
    const decision = decideLine({ next, psaNow, baseline, policy: { ...automatic, ...policy } });
    expect(decision.action).toBe(action);
    if (reason) expect(decision.reason).toMatch(reason);
    else expect(decision.reason).toBeNull();
  });

  it('measures a change against the value it replaces', () => {
    expect(changePercent(10, 10)).toBe(0);
    expect(changePercent(8, 10)).toBe(25);
    expect(changePercent(0, 0)).toBe(0);
    expect(changePercent(0, 3)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('a billing run’s status from its lines', () => {
  const line = (status: LedgerStatus, approved = false) => ({ status, approved });
  it.each([
    [[], 'written'],
    [[line('written'), line('written')], 'written'],
    [[line('written'), line('held')], 'awaiting-approval'],
    [[line('written', true), line('written', true)], 'approved'],
    [[line('written'), line('written', true)], 'approved'],
    [[line('rejected'), line('rejected')], 'rejected'],
    [[line('written', true), line('rejected')], 'partly-written'],
    [[line('written'), line('failed')], 'partly-written'],
    [[line('conflict')], 'partly-written'],
  ] as const)('%j → %s', (lines, expected) => {
    expect(runStatus(lines)).toBe(expected);
  });
});
