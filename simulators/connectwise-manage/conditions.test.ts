import { describe, expect, it } from 'vitest';
import { ConditionError, matches, matchesCustomFields, parseConditions, type FieldSchema, type JsonObject } from './conditions.ts';

const schema: FieldSchema = { id: true, summary: true, closedFlag: true, lastUpdated: true, board: ['id', 'name'], types: { each: ['id', 'name'] } };
const ticket: JsonObject = {
  id: 7,
  summary: 'Backup "failed" on SRV01',
  closedFlag: false,
  board: { id: 3, name: 'Help Desk' },
  types: [{ id: 1, name: 'Client' }, { id: 2, name: 'Partner' }],
  customFields: [{ id: 1, caption: 'Backup Tenant', value: 'abc-123' }],
  _info: { lastUpdated: '2024-03-01T10:00:00Z' },
};
const holds = (text: string) => matches(parseConditions(text, schema), ticket);

describe('CWM conditions', () => {
  it('evaluates comparisons, logic, parentheses and every literal kind over nested paths', () => {
    expect(holds('Board/Id = 3 and closedFlag = False')).toBe(true);
    expect(holds('board/name != "Help Desk" or (id >= 7 and id < 8)')).toBe(true);
    expect(holds('summary contains \'"FAILED"\'')).toBe(true);
    expect(holds('summary not contains "srv01"')).toBe(false);
    expect(holds('summary like "Backup*SRV??"')).toBe(false);
    expect(holds('summary like "backup*srv01"')).toBe(true);
    expect(holds('board/id in (1, 3)')).toBe(true);
    expect(holds('board/id not in (1, 2)')).toBe(true);
    expect(holds('lastUpdated > [2024-01-01T00:00:00Z] and lastUpdated <= [2024-03-01T10:00:00Z]')).toBe(true);
    expect(holds('summary != null and board/name = null')).toBe(false);
    expect(holds('summary like "%nothing%"')).toBe(true);
  });

  it('reaches into arrays only through childConditions, where in is not allowed', () => {
    expect(matches(parseConditions('types/name = "Partner"', schema, 'childConditions'), ticket)).toBe(true);
    expect(() => parseConditions('types/name = "Partner"', schema)).toThrow('types\\/name is not a recognized name.');
    expect(() => parseConditions('types/id in (1)', schema, 'childConditions')).toThrow(ConditionError);
  });

  it('matches customFieldConditions within one custom field', () => {
    expect(matchesCustomFields(parseConditions('caption = "Backup Tenant" and value = "abc-123"', schema, 'customFieldConditions'), ticket)).toBe(true);
    expect(matchesCustomFields(parseConditions('caption = "Other" and value = "abc-123"', schema, 'customFieldConditions'), ticket)).toBe(false);
  });

  it('rejects unknown fields, bad syntax and datetimes with milliseconds with the vendor codes', () => {
    expect(() => parseConditions('board/nme = 1', schema)).toThrow(expect.objectContaining({ code: 'ApiFindCondition' }));
    expect(() => parseConditions('id = ', schema)).toThrow(expect.objectContaining({ code: 'ApiFindCondition' }));
    expect(() => parseConditions('summary = "open', schema)).toThrow(ConditionError);
    expect(() => parseConditions('lastUpdated > [2024-01-01T00:00:00.000Z]', schema)).toThrow(expect.objectContaining({ code: 'UnsupportedFormat' }));
  });
});
