import { describe, expect, it } from 'vitest';
import { unstorableTexts } from './storable-text.ts';

describe('text PostgreSQL cannot store', () => {
  it('is found wherever it sits, with its path, in document order', () => {
    expect(unstorableTexts({ name: 'a\u0000b', psa: { companyId: 'ok', tags: ['x', 'y\ud800'] }, count: 3, flag: null })).toEqual([
      { path: ['name'], message: 'must not contain a NUL character (\\u0000)' },
      { path: ['psa', 'tags', 1], message: 'must be valid Unicode text (it holds an unpaired surrogate)' },
    ]);
    expect(unstorableTexts([{ offeringItem: '\u0000' }])).toEqual([{ path: [0, 'offeringItem'], message: expect.stringContaining('NUL') }]);
    expect(unstorableTexts({ ['bad\u0000key']: 'x\u0000', next: '\ud800' })).toEqual([
      { path: ['bad\u0000key'], message: expect.stringMatching(/^has a name that must not contain a NUL/) },
      { path: ['bad\u0000key'], message: expect.stringContaining('NUL') },
      { path: ['next'], message: expect.stringContaining('surrogate') },
    ]);
  });

  it('leaves well-formed text alone, emoji and all', () => {
    expect(unstorableTexts({ name: 'Café 🚀 – Ünïcode', nested: [['deep']] })).toEqual([]);
    expect(unstorableTexts('plain')).toEqual([]);
    expect(unstorableTexts(undefined)).toEqual([]);
  });

  it('walks a value nested deeper, or wider, than the call stack goes', () => {
    let deep: unknown = 'x\u0000';
    for (let depth = 0; depth < 100_000; depth++) deep = [deep];
    expect(unstorableTexts(deep)).toHaveLength(1);
    expect(unstorableTexts(Array.from({ length: 300_000 }, (_, index) => (index === 299_999 ? '\u0000' : 'x')))).toEqual([{ path: [299_999], message: expect.stringContaining('NUL') }]);
  });
});
