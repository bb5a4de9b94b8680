/**
 * Test peers for the authorization server: a form POST over real TLS (optionally with a client
 * certificate, DPoP headers — several, to test duplicates — and any other header), client assertions
 * and DPoP proofs built with jose from keys generated at test time, and an adjustable clock.
 */
import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, type JWK, SignJWT } from 'jose';
import type { AuditEvent } from '../../../src/audit/event.ts';
import type { TestGateway } from '../../support/harness.ts';
import { type HttpResult, httpsRequest } from '../../support/https-client.ts';

export type FormResult = HttpResult;

/** POSTs a form (RFC 6749 token, introspection and revocation requests) through the shared test client. */
export function postForm(
  url: string,
  options: {
    ca: string;
    form?: Record<string, string> | string;
    cert?: string;
    key?: string;
    dpop?: string | string[];
    headers?: Record<string, string>;
    contentType?: string;
  },
): Promise<FormResult> {
  const body =
    typeof options.form === 'string' ? options.form : new URLSearchParams(options.form ?? {}).toString();
  return httpsRequest(url, {
    method: 'POST',
    body,
    contentType: options.contentType ?? 'application/x-www-form-urlencoded',
    ca: options.ca,
    ...(options.cert ? { cert: options.cert } : {}),
    ...(options.key ? { key: options.key } : {}),
    headers: { ...(options.headers ?? {}), ...(options.dpop === undefined ? {} : { dpop: options.dpop }) },
  });
}

/** A clock a test moves by hand. */
export function manualClock(start = new Date()): { now: () => Date; advance(seconds: number): void } {
  let t = start.getTime();
  return {
    now: () => new Date(t),
    advance: (seconds: number) => {
      t += seconds * 1000;
    },
  };
}

export interface SigningKey {
  privateKey: KeyObject;
  publicJwk: JWK;
  kid: string;
}

export async function p256Key(kid: string = randomUUID()): Promise<SigningKey> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }, kid };
}

export const ISSUER = 'https://localhost:8443';
export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** A client assertion (RFC 7523) signed by `key`; every claim can be overridden or removed (undefined). */
export async function clientAssertion(
  key: SigningKey,
  clientId: string,
  now: Date,
  over: { header?: Record<string, unknown>; claims?: Record<string, unknown> } = {},
): Promise<string> {
  const t = Math.floor(now.getTime() / 1000);
  const claims: Record<string, unknown> = {
    iss: clientId,
    sub: clientId,
    aud: ISSUER,
    jti: randomUUID(),
    iat: t,
    exp: t + 60,
    ...over.claims,
  };
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, ...over.header } as { alg: string })
    .sign(key.privateKey);
}

/** A DPoP proof (RFC 9449 §4.2) for POST `htu`, signed by `key`. */
export async function dpopProof(
  key: SigningKey,
  htu: string,
  now: Date,
  over: { header?: Record<string, unknown>; claims?: Record<string, unknown>; method?: string } = {},
): Promise<string> {
  const { kid: _kid, alg: _alg, use: _use, ...jwk } = key.publicJwk;
  const claims: Record<string, unknown> = {
    jti: randomUUID(),
    htm: over.method ?? 'POST',
    htu,
    iat: Math.floor(now.getTime() / 1000),
    ...over.claims,
  };
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk, ...over.header } as { alg: string })
    .sign(key.privateKey);
}

export function jktOf(key: SigningKey): Promise<string> {
  const { kid: _kid, alg: _alg, use: _use, ...jwk } = key.publicJwk;
  return calculateJwkThumbprint(jwk, 'sha256');
}

export function decodeJwtParts(token: string): {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
} {
  const [h = '', c = ''] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as Record<string, unknown>,
  };
}

/** The audit entries of a class, newest last. */
export async function auditEntries(
  t: TestGateway,
  cls: AuditEvent['class'],
): Promise<Record<string, unknown>[]> {
  const rows = await t.gateway.store.query<{ entry: string }>('SELECT entry FROM audit_entries ORDER BY idx');
  return rows.map((r) => JSON.parse(r.entry) as Record<string, unknown>).filter((e) => e.class === cls);
}
