/**
 * Reads Autotask's `{errors: [...]}` bodies. Autotask answers validation, permission and
 * missing-record problems with 500, and thread-limit refusals (`Itgenatr005`) sometimes with a
 * status other than 429, so the status alone says too little.
 */
import type { VendorErrorReading } from '../http.ts';

const THREAD_LIMIT = /Itgenatr005|thread (threshold|limit)/i;
const REQUEST_THRESHOLD = /request threshold|threshold .*exceeded/i;
const ZONE_LOOKUP = /zone information could not be determined/i;
const MISSING_RECORD = /no matching records/i;
const PERMISSION = /permission/i;
/** The wording of Autotask's rejections of a request's content: sending it again cannot help. */
const VALIDATION = /required|requires|invalid|not valid|not a valid|does not exist|cannot|must |exceeds|unable to find|not supported|not allowed/i;

function messagesOf(body: unknown): string[] {
  if (typeof body !== 'object' || body === null) return [];
  const { errors, message } = body as { errors?: unknown; message?: unknown };
  if (Array.isArray(errors)) {
    return errors.map((entry) => (typeof entry === 'string' ? entry : typeof entry === 'object' && entry !== null && 'message' in entry ? String(entry.message) : JSON.stringify(entry)));
  }
  return typeof message === 'string' ? [message] : [];
}

export function readAutotaskError(status: number, body: unknown): VendorErrorReading {
  const messages = messagesOf(body);
  if (messages.length === 0) return {};
  const message = messages.join('; ');
  if (THREAD_LIMIT.test(message)) return { message, vendorCode: 'Itgenatr005', kind: 'rate-limited', retryable: true };
  if (REQUEST_THRESHOLD.test(message)) return { message, kind: 'rate-limited', retryable: true };
  if (status !== 500) return { message };
  if (ZONE_LOOKUP.test(message)) return { message, kind: 'auth', retryable: false };
  if (MISSING_RECORD.test(message)) return { message, kind: 'not-found', retryable: false };
  if (PERMISSION.test(message)) return { message, kind: 'forbidden', retryable: false };
  if (VALIDATION.test(message)) return { message, kind: 'validation', retryable: false };
  return { message };
}
