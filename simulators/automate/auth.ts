import { randomBytes } from 'node:crypto';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { DEFAULT_CREDENTIALS } from '../default-credentials.ts';
import { automateError, bindJson, caseless } from './http.ts';
import { isoOf, type AutomateStore, type TokenRecord } from './store.ts';

const CREDENTIALS = DEFAULT_CREDENTIALS.automate;
const SIM_USER_ID = 1;
const DENIED = 'Authorization has been denied for this request.';

const tokenCredentials = z.object({
  UserName: z.string().optional(),
  Password: z.string().optional(),
  TwoFactorPasscode: z.string().nullable().optional(),
});

/** Since Automate 2020.11 every call, the token request included, must name a registered integration. */
function clientIdProblem(c: Context): string | undefined {
  const clientId = c.req.header('ClientId');
  if (clientId === undefined || clientId.trim() === '') return 'A ClientId header is required. Register an integration at developer.connectwise.com and send its ClientId with every request.';
  if (clientId !== CREDENTIALS.clientId) return `The ClientId '${clientId}' is not registered.`;
  return undefined;
}

function tokenResult(store: AutomateStore, accessToken: string | null, record: TokenRecord | undefined) {
  return {
    AccessToken: accessToken,
    TokenType: 'Bearer',
    ExpirationDate: record ? isoOf(record.expiresAtMs) : null,
    AbsoluteExpirationDate: record ? isoOf(record.absoluteExpiresAtMs) : null,
    UserId: SIM_USER_ID,
    InternalUserName: CREDENTIALS.username,
    IsTwoFactorRequired: accessToken === null && store.settings.twoFactorRequired,
    IsInternalTwoFactorRequired: false,
    SSOAccessToken: null,
  };
}

function issueToken(store: AutomateStore, absoluteExpiresAtMs: number): { token: string; record: TokenRecord } {
  const token = randomBytes(32).toString('base64url');
  const record = { userId: SIM_USER_ID, expiresAtMs: Math.min(store.nowMs() + store.settings.tokenLifetimeSeconds * 1000, absoluteExpiresAtMs), absoluteExpiresAtMs };
  store.tokens.set(token, record);
  return { token, record };
}

function liveToken(store: AutomateStore, token: string | undefined): TokenRecord | undefined {
  if (token === undefined) return undefined;
  const record = store.tokens.get(token);
  if (record && record.expiresAtMs <= store.nowMs()) {
    store.tokens.delete(token);
    return undefined;
  }
  return record;
}

function bearerOf(c: Context): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(c.req.header('Authorization') ?? '')?.[1];
}

/** `POST /apitoken` and `POST /apitoken/refresh`; register before `requireAuthorization`. */
export function registerTokenRoutes(app: Hono, store: AutomateStore): void {
  app.post(caseless('/APIToken'), async (c) => {
    const problem = clientIdProblem(c);
    if (problem) return automateError(c, 401, problem);
    const credentials = await bindJson(c, tokenCredentials);
    if (credentials.UserName?.toLowerCase() !== CREDENTIALS.username || credentials.Password !== CREDENTIALS.password) {
      return automateError(c, 401, 'The user name or password is incorrect.');
    }
    if (store.settings.twoFactorRequired) {
      const passcode = credentials.TwoFactorPasscode ?? '';
      if (passcode === '') return c.json(tokenResult(store, null, undefined));
      if (passcode !== store.settings.twoFactorPasscode) return automateError(c, 401, 'The two-factor passcode is incorrect.');
    }
    const { token, record } = issueToken(store, store.nowMs() + store.settings.absoluteTokenLifetimeSeconds * 1000);
    return c.json(tokenResult(store, token, record));
  });

  // The body is the current token as a JSON string; the new token keeps the old absolute expiry.
  app.post(caseless('/APIToken/refresh'), async (c) => {
    const problem = clientIdProblem(c);
    if (problem) return automateError(c, 401, problem);
    if (!liveToken(store, bearerOf(c))) return automateError(c, 401, DENIED);
    const current = await bindJson(c, z.string().min(1));
    const record = liveToken(store, current);
    if (!record) return automateError(c, 401, DENIED);
    if (record.absoluteExpiresAtMs <= store.nowMs()) return automateError(c, 401, 'The token has reached its absolute expiration and cannot be refreshed.');
    const fresh = issueToken(store, record.absoluteExpiresAtMs);
    return c.json(tokenResult(store, fresh.token, fresh.record));
  });
}

/** Every other call needs the ClientId header and a live bearer token; both failures are a 401. */
export function requireAuthorization(store: AutomateStore): MiddlewareHandler {
  return async (c, next) => {
    const problem = clientIdProblem(c);
    if (problem) return automateError(c, 401, problem);
    if (!liveToken(store, bearerOf(c))) return automateError(c, 401, DENIED);
    await next();
    return undefined;
  };
}
