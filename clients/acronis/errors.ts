import type { FailureKind, VendorErrorReading } from '../http.ts';

/** Account Management platform codes whose meaning differs from their HTTP status (reference §3.7). */
const PLATFORM_CODE_KINDS: Record<number, FailureKind> = {
  1001: 'conflict', // version mismatch
  1002: 'forbidden',
  1003: 'conflict', // parent tenant disabled
  1004: 'conflict', // tenant name taken
  1005: 'not-found',
  1006: 'conflict', // deleting a tenant that is not disabled
  1007: 'validation',
  1012: 'conflict', // tenant locked
  1013: 'conflict',
  1021: 'validation', // offering item not available
  1022: 'validation', // hard quota exceeded
  1023: 'validation', // offering items dependency
  1027: 'conflict', // business rule against the current state
  1033: 'validation', // invalid login
};

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * Reads any of Acronis's error shapes: Account Management `{error:{code,message}}`, OAuth
 * `{error, error_description}`, the flat `{domain, code, debug}` of the alert, task, resource and
 * policy services, and the Agent Manager's `{code, domain, debug:{msg}}`. Alert Manager's HTML 401
 * comes from its nginx front: the transport reads such pages by their status.
 */
export function readAcronisError(status: number, body: unknown): VendorErrorReading {
  if (!isRecord(body)) return {};
  if (isRecord(body.error)) {
    const { code, message } = body.error;
    const vendorCode = typeof code === 'number' || typeof code === 'string' ? code : undefined;
    const kind = typeof code === 'number' ? PLATFORM_CODE_KINDS[code] : undefined;
    return { vendorCode, kind, message: `${text(message) ?? `HTTP ${status}`}${vendorCode !== undefined ? ` (code ${vendorCode})` : ''}` };
  }
  if (typeof body.error === 'string') {
    const description = text(body.error_description);
    return { vendorCode: body.error, message: description ? `${body.error}: ${description}` : body.error, ...(status === 400 && body.error === 'invalid_client' ? { kind: 'auth' as const } : {}) };
  }
  if (text(body.code)) {
    const debug = isRecord(body.debug) ? text(body.debug.msg) : undefined;
    const domain = text(body.domain);
    return { vendorCode: body.code as string, message: `${domain ? `${domain}: ` : ''}${debug ?? (body.code as string)}` };
  }
  return {};
}
