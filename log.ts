import { pino, type Logger } from 'pino';

export type { Logger };

/** Field names whose values never reach a log line, wherever they sit in a logged object. */
const SECRET_FIELDS = [
  'clientSecret', 'privateKey', 'secret', 'password', 'integrationCode', 'token', 'authorization',
  'ENCRYPTION_KEY', 'ADMIN_TOKEN', 'DATABASE_URL',
];

export function createLogger(component: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { component },
    redact: { paths: SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]), censor: '[redacted]' },
  });
}
