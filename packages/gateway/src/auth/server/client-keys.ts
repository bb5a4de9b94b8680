/**
 * Validation of the credentials an operator registers for a client (`fleetgate partner add` and
 * `rotate-keys`): the public JWKS of a private_key_jwt client (RFC 7517), and the certificate of a
 * self_signed_tls_client_auth client (RFC 8705 §2.2), registered by its SHA-256 thumbprint.
 *
 * Refused: private key material anywhere in a JWK (an operator pasting the wrong file must not leave a
 * private key in the store); symmetric keys; algorithms outside the client-assertion allow-list; RSA under
 * 2048 bits; more than MAX_KEYS keys; keys that do not import; a certificate that is a CA, cannot be
 * parsed or has expired.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { importJWK, type JWK } from 'jose';
import { ASSERTION_ALGORITHMS } from './client-auth/private-key-jwt.ts';
import type { RegisteredJwk } from './client-registry.ts';
import { AuthServerError } from './errors.ts';

export const MAX_KEYS = 10;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'];
const KEY_TYPES = new Set(['EC', 'OKP', 'RSA']);

function bad(message: string): AuthServerError {
  return new AuthServerError('AS_INVALID_ARGUMENT', message);
}

function defaultAlg(jwk: RegisteredJwk): string | undefined {
  if (jwk.kty === 'EC')
    return ({ 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' } as Record<string, string>)[
      String(jwk.crv)
    ];
  if (jwk.kty === 'OKP') return jwk.crv === 'Ed25519' ? 'EdDSA' : undefined;
  return 'RS256';
}

/** A JWKS of public signing keys usable for client assertions; throws AS_INVALID_ARGUMENT. */
export async function validatePublicJwks(value: unknown): Promise<{ keys: RegisteredJwk[] }> {
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { keys?: unknown }).keys)) {
    throw bad('a JWKS must be an object with a "keys" array');
  }
  const keys = (value as { keys: unknown[] }).keys;
  if (keys.length === 0 || keys.length > MAX_KEYS) throw bad(`a JWKS must hold 1 to ${MAX_KEYS} keys`);
  const out: RegisteredJwk[] = [];
  for (const [i, key] of keys.entries()) {
    if (typeof key !== 'object' || key === null || Array.isArray(key)) throw bad(`key ${i} is not an object`);
    const jwk = key as RegisteredJwk;
    if (PRIVATE_MEMBERS.some((m) => m in jwk))
      throw bad(`key ${i} holds private key material: register public keys only`);
    if (!KEY_TYPES.has(jwk.kty)) throw bad(`key ${i}: kty must be EC, OKP or RSA`);
    if (jwk.use !== undefined && jwk.use !== 'sig') throw bad(`key ${i}: use must be sig`);
    if (jwk.kid !== undefined && (typeof jwk.kid !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(jwk.kid))) {
      throw bad(`key ${i}: kid must be 1 to 128 printable characters`);
    }
    const alg = jwk.alg ?? defaultAlg(jwk);
    if (alg === undefined || !(ASSERTION_ALGORITHMS as readonly string[]).includes(alg)) {
      throw bad(`key ${i}: algorithm must be one of ${ASSERTION_ALGORITHMS.join(', ')}`);
    }
    try {
      const imported = await importJWK(jwk as JWK, alg);
      if (imported instanceof Uint8Array) throw new Error('symmetric');
    } catch (cause) {
      throw new AuthServerError('AS_INVALID_ARGUMENT', `key ${i} is not a usable ${alg} public key`, {
        cause,
      });
    }
    if (jwk.kty === 'RSA' && typeof jwk.n === 'string' && Buffer.from(jwk.n, 'base64url').length < 256) {
      throw bad(`key ${i}: RSA keys must have at least 2048 bits`);
    }
    out.push(jwk);
  }
  return { keys: out };
}

/** The registered value for a self-signed client certificate: base64url SHA-256 of its DER. */
export function selfSignedCertificateThumbprint(pem: string, now: Date): string {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
    void certificate.validToDate;
  } catch (cause) {
    throw new AuthServerError('AS_INVALID_ARGUMENT', 'not a PEM X.509 certificate', { cause });
  }
  if (certificate.ca) throw bad('a client certificate must not be a CA certificate');
  if (certificate.validToDate <= now) throw bad('the certificate has expired');
  return createHash('sha256').update(certificate.raw).digest('base64url');
}

/** Self-signed certificates listed as x5c in a JWKS: each must parse, not be a CA, not be expired. */
export function validateSelfSignedJwks(value: unknown, now: Date): { keys: RegisteredJwk[] } {
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { keys?: unknown }).keys)) {
    throw bad('a JWKS must be an object with a "keys" array');
  }
  const keys = (value as { keys: unknown[] }).keys;
  if (keys.length === 0 || keys.length > MAX_KEYS) throw bad(`a JWKS must hold 1 to ${MAX_KEYS} keys`);
  for (const [i, key] of keys.entries()) {
    if (typeof key !== 'object' || key === null || Array.isArray(key)) throw bad(`key ${i} is not an object`);
    if (PRIVATE_MEMBERS.some((m) => m in key)) throw bad(`key ${i} holds private key material`);
    const x5c = (key as RegisteredJwk).x5c;
    const leaf = Array.isArray(x5c) ? x5c[0] : undefined;
    if (typeof leaf !== 'string' || !/^[A-Za-z0-9+/=]{1,16384}$/.test(leaf)) {
      throw bad(`key ${i}: self_signed_tls_client_auth keys must carry an x5c certificate`);
    }
    selfSignedCertificateThumbprint(`-----BEGIN CERTIFICATE-----\n${leaf}\n-----END CERTIFICATE-----\n`, now);
  }
  return { keys: keys as RegisteredJwk[] };
}
