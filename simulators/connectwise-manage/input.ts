import { ConditionError, parseCwDatetime, type Json, type JsonObject } from './conditions.ts';
import { CwError, type CwFieldError } from './errors.ts';
import type { CustomField } from './store.ts';

export function isObject(value: Json | undefined): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** CWM's datetime text: UTC without milliseconds. */
export function cwDatetime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

interface Referable {
  id: number;
  name?: string;
  identifier?: string;
}

/**
 * Reads a request body the way CWM does: unknown fields ignored, missing ones defaulted, problems
 * collected into one `InvalidObject` answer; over-long text and bad datetimes fail at once with their
 * own top-level codes (`MaxLengthField`, `UnsupportedFormat`).
 */
export class InputReader {
  readonly #body: JsonObject;
  readonly #resource: string;
  readonly #errors: CwFieldError[] = [];

  constructor(body: JsonObject, resource: string) {
    this.#body = body;
    this.#resource = resource;
  }

  #value(field: string): Json | undefined {
    return this.#body[field];
  }

  has(field: string): boolean {
    const value = this.#value(field);
    return value !== undefined && value !== null;
  }

  #problem(field: string, code: string, message: string): void {
    this.#errors.push({ code, message, resource: this.#resource, field });
  }

  string(field: string, options: { max: number; required: true }): string;
  string(field: string, options: { max: number; fallback?: string | null }): string | null;
  string(field: string, options: { max: number; required?: boolean; fallback?: string | null }): string | null {
    const value = this.#value(field);
    if (value === undefined || value === null || value === '') {
      if (options.required) this.#problem(field, 'NullValue', `${field} may not be empty`);
      return options.fallback ?? (options.required ? '' : null);
    }
    if (typeof value !== 'string') {
      this.#problem(field, 'InvalidField', `${field} must be text`);
      return '';
    }
    if (value.length > options.max) {
      throw new CwError(400, 'MaxLengthField', `${field} has a maximum length of ${options.max} characters.`, [
        { code: 'MaxLengthField', message: `${field} has a maximum length of ${options.max} characters.`, resource: this.#resource, field },
      ]);
    }
    return value;
  }

  number(field: string, fallback: number): number {
    const value = this.#value(field);
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this.#problem(field, 'InvalidField', `${field} must be a number`);
      return fallback;
    }
    return value;
  }

  boolean(field: string, fallback: boolean): boolean {
    const value = this.#value(field);
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') {
      this.#problem(field, 'InvalidField', `${field} must be true or false`);
      return fallback;
    }
    return value;
  }

  datetime(field: string, fallback: string | null): string | null {
    const value = this.#value(field);
    if (value === undefined || value === null || value === '') return fallback;
    try {
      if (typeof value !== 'string') throw new ConditionError('UnsupportedFormat', `${field} must be a datetime`);
      parseCwDatetime(value);
      return value;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new CwError(400, 'UnsupportedFormat', message, [{ code: 'UnsupportedFormat', message, resource: this.#resource, field }]);
    }
  }

  choice<T extends string>(field: string, values: readonly T[], fallback: T): T {
    const value = this.#value(field);
    if (value === undefined || value === null) return fallback;
    const found = values.find((candidate) => typeof value === 'string' && candidate.toLowerCase() === value.toLowerCase());
    if (!found) this.#problem(field, 'InvalidField', `${field} must be one of ${values.join(', ')}`);
    return found ?? fallback;
  }

  /** A reference given as `{id}`, `{identifier}` or `{name}`; a miss is CWM's `NotFound` entry. */
  ref<T extends Referable>(field: string, candidates: readonly T[], label: string, options: { required?: boolean; scope?: string } = {}): T | undefined {
    const value = this.#value(field);
    if (value === undefined || value === null) {
      if (options.required) this.#problem(field, 'NullValue', `${field} may not be empty`);
      return undefined;
    }
    return this.resolve(field, value, candidates, label, options.scope);
  }

  resolve<T extends Referable>(field: string, value: Json, candidates: readonly T[], label: string, scope?: string): T | undefined {
    if (!isObject(value)) {
      this.#problem(field, 'InvalidField', `${field} must be a reference object`);
      return undefined;
    }
    const key = typeof value.id === 'number' ? 'id' : typeof value.identifier === 'string' ? 'identifier' : typeof value.name === 'string' ? 'name' : undefined;
    const wanted = key === undefined ? undefined : value[key];
    const found =
      key === 'id'
        ? candidates.find((candidate) => candidate.id === wanted)
        : key === undefined
          ? undefined
          : candidates.find((candidate) => candidate[key]?.toLowerCase() === String(wanted).toLowerCase());
    if (!found) this.#problem(`${field}/${key ?? 'id'}`, 'NotFound', `${label} ${String(wanted ?? '')} not found${scope ? ` for ${scope}` : ''}`);
    return found;
  }

  /** A list field; anything else counts as empty. */
  list(field: string): Json[] {
    const value = this.#value(field);
    return Array.isArray(value) ? value : [];
  }

  /** Custom fields are replaced as a whole array, never merged. */
  customFields(): CustomField[] {
    const value = this.#value('customFields');
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || !value.every((field) => isObject(field) && typeof field.id === 'number')) {
      this.#problem('customFields', 'InvalidField', 'customFields must be a list of {id, value}');
      return [];
    }
    return value as CustomField[];
  }

  problem(field: string, code: string, message: string): void {
    this.#problem(field, code, message);
  }

  /** Throws the collected problems as one `InvalidObject`. */
  finish(): void {
    if (this.#errors.length === 0) return;
    throw new CwError(400, 'InvalidObject', `${this.#resource} object is invalid`, this.#errors);
  }
}
