import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import { cors } from 'hono/cors';
import { html } from 'hono/html';
import { z } from 'zod';
import { authenticateToken, findLiveToken, type ApiToken } from '../db/api-tokens.ts';
import { EncryptionCodec } from '../security/payload-codec.ts';
import { bearerToken } from './auth.ts';
import type { ApiDeps, ApiEnv } from './context.ts';
import { problems, zodFieldErrors } from './problem.ts';

const SESSION_COOKIE = 'codec_session';
const SESSION_SECONDS = 12 * 60 * 60;

/** Temporal's codec protocol: Payloads as protobuf JSON, bytes in base64. */
const payloadsSchema = z.strictObject({
  // Protobuf JSON leaves out empty repeated fields: an empty Payloads arrives as {}.
  payloads: z.array(z.object({ metadata: z.record(z.string(), z.string()).optional(), data: z.string().optional() })).max(10_000).default([]),
});

type JsonPayload = z.infer<typeof payloadsSchema>['payloads'][number];

function fromJson(payload: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')])),
    data: Buffer.from(payload.data ?? '', 'base64'),
  };
}

function toJson(payload: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value ?? new Uint8Array()).toString('base64')])),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  };
}

/**
 * The codec endpoint the Temporal Web UI decodes payloads with (SPEC F8.4). An operator proves they
 * hold an API token either per request (`Authorization: Bearer`, for the CLI's --codec-auth) or once,
 * through /codec/login, which leaves a signed session cookie that the UI sends when its codec
 * setting "include cross-origin credentials" is on.
 */
export function codecRoutes(deps: ApiDeps) {
  const codec = new EncryptionCodec(deps.keyring);
  const sessionKey = deps.keyring.currentKey('codec-session').key;
  const secureCookie = deps.publicUrl.startsWith('https:');
  const router = new Hono<ApiEnv>();

  const sign = (value: string) => createHmac('sha256', sessionKey).update(value).digest('base64url');

  function sessionValue(token: ApiToken): string {
    const body = `${token.id}.${Date.now() + SESSION_SECONDS * 1000}`;
    return `${body}.${sign(body)}`;
  }

  async function sessionToken(value: string | undefined): Promise<ApiToken | undefined> {
    const [tokenId, expiresAt, signature] = (value ?? '').split('.');
    if (!tokenId || !expiresAt || !signature) return undefined;
    const expected = Buffer.from(sign(`${tokenId}.${expiresAt}`));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given) || Number(expiresAt) < Date.now()) return undefined;
    // A revoked token ends its sessions too.
    return findLiveToken(deps.db, tokenId);
  }

  /**
   * A partner-scoped token decodes nothing: the codec is handed payloads without the workflow they
   * belong to, and one namespace holds every partner's workflows, so it could not tell its
   * partner's payloads from another's. Partner-scoped users read their partner through the API.
   */
  function refuseScoped(token: ApiToken): void {
    if (token.partnerId !== null) throw problems.forbidden('A partner-scoped token cannot decode workflow payloads: the codec cannot tell whose they are. Use a token without a partner.');
  }

  async function caller(c: Context<ApiEnv>): Promise<ApiToken> {
    const presented = bearerToken(c.req.header('Authorization'));
    const token = presented ? await authenticateToken(deps.db, presented) : await sessionToken(getCookie(c, SESSION_COOKIE));
    if (!token) throw problems.unauthorized('Sign in at /codec/login, or send Authorization: Bearer <token>.');
    refuseScoped(token);
    return token;
  }

  // Only the Web UI's origin may call the codec from a browser, with its cookies.
  const webUiOnly = cors({
    origin: new URL(deps.temporalUiUrl).origin,
    credentials: true,
    allowMethods: ['POST'],
    allowHeaders: ['Content-Type', 'X-Namespace', 'Authorization'],
  });

  for (const operation of ['encode', 'decode'] as const) {
    router.use(`/${operation}`, webUiOnly);
    router.post(`/${operation}`, async (c) => {
      await caller(c);
      const parsed = payloadsSchema.safeParse(await c.req.json().catch(() => undefined));
      if (!parsed.success) throw problems.validation(zodFieldErrors(parsed.error));
      const payloads = parsed.data.payloads.map(fromJson);
      const converted = operation === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
      return c.json({ payloads: converted.map(toJson) });
    });
  }

  router.get('/login', (c) =>
    c.html(html`<!doctype html>
      <html lang="en">
        <head><meta charset="utf-8" /><title>Payload codec sign-in</title></head>
        <body style="font-family: sans-serif; max-width: 40rem; margin: 3rem auto">
          <h1>Decode payloads in the Temporal Web UI</h1>
          <p>Paste an API token (admin or read-only). This browser then decodes workflow payloads for ${SESSION_SECONDS / 3600} hours.</p>
          <form method="post" action="session">
            <input name="token" type="password" autocomplete="off" required style="width: 100%" />
            <p><button type="submit">Sign in</button></p>
          </form>
          <p>In the Web UI (${deps.temporalUiUrl}), open the codec server settings and tick
            <em>Include cross-origin credentials</em>; the endpoint is ${deps.publicUrl}/codec.</p>
        </body>
      </html>`),
  );

  router.post('/session', async (c) => {
    const form = await c.req.parseBody();
    const presented = typeof form.token === 'string' ? form.token.trim() : '';
    const token = presented ? await authenticateToken(deps.db, presented) : undefined;
    if (!token) throw problems.unauthorized('The token is unknown or revoked.');
    refuseScoped(token);
    setCookie(c, SESSION_COOKIE, sessionValue(token), { httpOnly: true, sameSite: 'Strict', secure: secureCookie, path: '/codec', maxAge: SESSION_SECONDS });
    return c.html(html`<!doctype html><p>Signed in as ${token.name}. Payloads now decode in <a href="${deps.temporalUiUrl}">the Web UI</a>.</p>`);
  });

  router.delete('/session', (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: '/codec' });
    return c.body(null, 204);
  });

  return router;
}
