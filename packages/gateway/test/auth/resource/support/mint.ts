/**
 * Test-side JOSE: access tokens shaped like the contract's (RFC 9068, ES256, typ at+jwt, cnf) signed with
 * a key generated at test time or the authorization server's key in DIR/pki/oauth/, DPoP proofs
 * (RFC 9449 §4.2) from fresh key pairs, and the RFC 8705 certificate thumbprint. Mutations for the
 * negative cases are made here so each test names exactly the one thing it breaks.
 */
import {
  createHash,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
  sign,
  X509Certificate,
} from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, type JWK, SignJWT } from 'jose';

export const ISSUER = 'https://localhost:8443';
export const AUDIENCE = 'urn:fleetgate:control-plane';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  kid: string;
}

export function es256Key(kid: string = randomUUID()): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKey, kid };
}

export async function publicJwk(key: SigningKey, extra: Record<string, unknown> = {}): Promise<JWK> {
  return { ...(await exportJWK(key.publicKey)), kid: key.kid, alg: 'ES256', use: 'sig', ...extra };
}

/** base64url SHA-256 of the first certificate's DER in a PEM (chain) — cnf.x5t#S256. */
export function certThumbprint(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url');
}

export const b64u = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

export interface TokenSpec {
  clientId?: string;
  tenant?: string;
  scope?: string;
  cnf?: Record<string, unknown> | undefined;
  lifetimeSeconds?: number;
  /** Seconds since the epoch; default now. */
  iat?: number;
  claims?: Record<string, unknown>;
  /** Claims to delete after the defaults are set. */
  omit?: readonly string[];
  header?: Record<string, unknown>;
}

export function tokenClaims(spec: TokenSpec = {}): Record<string, unknown> {
  const iat = spec.iat ?? Math.floor(Date.now() / 1000);
  const clientId = spec.clientId ?? 'acme-tms';
  const claims: Record<string, unknown> = {
    iss: ISSUER,
    sub: clientId,
    aud: AUDIENCE,
    client_id: clientId,
    scope: spec.scope ?? 'tenders:write tenders:read',
    tenant: spec.tenant ?? 'acme',
    iat,
    nbf: iat,
    exp: iat + (spec.lifetimeSeconds ?? 300),
    jti: randomUUID(),
    ...(spec.cnf === undefined ? {} : { cnf: spec.cnf }),
    ...spec.claims,
  };
  for (const name of spec.omit ?? []) delete claims[name];
  return claims;
}

export async function mintToken(
  key: SigningKey,
  spec: TokenSpec = {},
): Promise<{ token: string; jti: string }> {
  const claims = tokenClaims(spec);
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid, ...spec.header } as { alg: string })
    .sign(key.privateKey);
  return { token, jti: claims.jti as string };
}

/** ES256 over whatever header and claims are given (jose refuses to sign some of the hostile ones). */
export function signRaw(
  key: SigningKey,
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
): string {
  const input = `${b64u(header)}.${b64u(claims)}`;
  const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** An unsigned token: header.payload. (empty signature). */
export function unsignedToken(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  return `${b64u(header)}.${b64u(claims)}.`;
}

export interface DpopKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: JWK;
  jkt: string;
  alg: string;
}

export async function dpopKey(): Promise<DpopKey> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = await exportJWK(publicKey);
  return { privateKey, publicKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256'), alg: 'ES256' };
}

export const athOf = (token: string): string => createHash('sha256').update(token).digest('base64url');

export interface ProofSpec {
  htm: string;
  htu: string;
  accessToken?: string | undefined;
  /** undefined: no nonce claim. */
  nonce?: string | undefined;
  iat?: number | undefined;
  jti?: string | undefined;
  claims?: Record<string, unknown> | undefined;
  omit?: readonly string[] | undefined;
  header?: Record<string, unknown> | undefined;
}

export async function dpopProof(key: DpopKey, spec: ProofSpec): Promise<string> {
  const claims: Record<string, unknown> = {
    jti: spec.jti ?? randomUUID(),
    htm: spec.htm,
    htu: spec.htu,
    iat: spec.iat ?? Math.floor(Date.now() / 1000),
    ...(spec.accessToken === undefined ? {} : { ath: athOf(spec.accessToken) }),
    ...(spec.nonce === undefined ? {} : { nonce: spec.nonce }),
    ...spec.claims,
  };
  for (const name of spec.omit ?? []) delete claims[name];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, typ: 'dpop+jwt', jwk: key.jwk, ...spec.header } as { alg: string })
    .sign(key.privateKey);
}
