import { z } from 'zod';
import { InvalidEncryptionKeyError, Keyring } from './security/keyring.ts';

const port = z.coerce.number().int().min(1).max(65535);

const envSchema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }),
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_UI_URL: z.url().default('http://localhost:8233'),
  ENCRYPTION_KEY: z.string({ error: 'is required (32 random bytes, base64: openssl rand -base64 32)' }).min(1),
  ENCRYPTION_KEYS_PREVIOUS: z.string().optional(),
  PORT: port.default(3000),
  METRICS_PORT: port.default(9464),
  HOST: z.string().default('0.0.0.0'),
  PUBLIC_URL: z.url().optional(),
  ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  NODE_ENV: z.string().default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  VENDOR_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(30),
});

export interface Config {
  databaseUrl: string;
  temporal: { address: string; namespace: string; uiUrl: string };
  keyring: Keyring;
  api: { port: number; host: string; publicUrl: string; adminToken: string | undefined };
  /** The worker's metrics port: GET /metrics (Prometheus text) and GET /healthz. */
  metricsPort: number;
  /** In production, vendor URLs must be https and may not resolve to private addresses (SPEC F10.3). */
  production: boolean;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  /** How long a vendor call waits for its answer before it counts as lost (ticket creates wait less, see psa/). */
  vendorTimeoutMs: number;
}

export class ConfigError extends Error {}

/** Parses the environment once at start; a missing or bad value stops the process with the variable named. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const values = parsed.data;
  let keyring: Keyring;
  try {
    const previous = (values.ENCRYPTION_KEYS_PREVIOUS ?? '').split(',').map((key) => key.trim()).filter(Boolean);
    keyring = Keyring.fromBase64(values.ENCRYPTION_KEY, previous);
  } catch (error) {
    if (error instanceof InvalidEncryptionKeyError) {
      throw new ConfigError(`invalid configuration:\n  ENCRYPTION_KEY: ${error.message}`);
    }
    throw error;
  }
  return {
    databaseUrl: values.DATABASE_URL,
    temporal: {
      address: values.TEMPORAL_ADDRESS,
      namespace: values.TEMPORAL_NAMESPACE,
      uiUrl: values.TEMPORAL_UI_URL.replace(/\/$/, ''),
    },
    keyring,
    api: {
      port: values.PORT,
      host: values.HOST,
      publicUrl: (values.PUBLIC_URL ?? `http://localhost:${values.PORT}`).replace(/\/$/, ''),
      adminToken: values.ADMIN_TOKEN,
    },
    metricsPort: values.METRICS_PORT,
    production: values.NODE_ENV === 'production',
    logLevel: values.LOG_LEVEL,
    vendorTimeoutMs: values.VENDOR_TIMEOUT_SECONDS * 1000,
  };
}
