/**
 * The authorization server's access-token signing key: ECDSA P-256 (ES256, RFC 7518 §3.4) in
 * DIR/pki/oauth/signing-key.pem (0600, PKCS#8), its public half in signing-key.pub.pem (0644). Generated
 * at the first gateway start; never leaves the data directory. Published as a JWKS (RFC 7517) with `kid` =
 * the RFC 7638 thumbprint of the public JWK, so a resource server picks the key without trusting anything
 * but the kid it already has.
 *
 * Threats: a signing key readable by others (refused: the file must be 0600, like the CA keys); a key
 * confused with another algorithm (the JWK carries alg ES256 and use sig; verifiers allow-list ES256).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthServerError } from './errors.ts';

export const TOKEN_SIGNING_ALG = 'ES256';

/** The public JWK as published: EC P-256 coordinates plus kid, alg and use. */
export interface PublicSigningJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: typeof TOKEN_SIGNING_ALG;
  use: 'sig';
}

export interface TokenSigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly kid: string;
  readonly jwk: PublicSigningJwk;
}

export function oauthKeyDir(dataDir: string): string {
  return join(dataDir, 'pki', 'oauth');
}

const KEY_FILE = 'signing-key.pem';
const PUBLIC_FILE = 'signing-key.pub.pem';

function writeAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/** RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace. */
export function ecJwkThumbprint(jwk: { crv: string; kty: string; x: string; y: string }): string {
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

function publicJwkOf(publicKey: KeyObject): PublicSigningJwk {
  const raw = publicKey.export({ format: 'jwk' });
  if (raw.kty !== 'EC' || raw.crv !== 'P-256' || typeof raw.x !== 'string' || typeof raw.y !== 'string') {
    throw new AuthServerError('AS_KEY_UNAVAILABLE', 'the token signing key is not ECDSA P-256');
  }
  const base = { kty: 'EC' as const, crv: 'P-256' as const, x: raw.x, y: raw.y };
  return { ...base, kid: ecJwkThumbprint(base), alg: TOKEN_SIGNING_ALG, use: 'sig' };
}

/** Creates the key on first use, then loads it. */
export function ensureTokenSigningKey(dataDir: string): TokenSigningKey {
  const dir = oauthKeyDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, KEY_FILE);
  if (!existsSync(keyPath)) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeAtomic(keyPath, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 0o600);
    writeAtomic(join(dir, PUBLIC_FILE), publicKey.export({ format: 'pem', type: 'spki' }) as string, 0o644);
  }
  return loadTokenSigningKey(dataDir);
}

/** Loads the signing key; fails closed when it is missing, not P-256, or readable by others. */
export function loadTokenSigningKey(dataDir: string): TokenSigningKey {
  const keyPath = join(oauthKeyDir(dataDir), KEY_FILE);
  let privateKey: KeyObject;
  try {
    if ((statSync(keyPath).mode & 0o077) !== 0) {
      throw new AuthServerError('AS_KEY_UNAVAILABLE', 'the token signing key file is readable by others');
    }
    privateKey = createPrivateKey(readFileSync(keyPath));
  } catch (cause) {
    if (cause instanceof AuthServerError) throw cause;
    throw new AuthServerError('AS_KEY_UNAVAILABLE', 'the token signing key cannot be read', { cause });
  }
  const publicKey = createPublicKey(privateKey);
  const jwk = publicJwkOf(publicKey);
  return { privateKey, publicKey, kid: jwk.kid, jwk };
}

/** The public verification keys for resource servers: signing-key.pub.pem as a JWKS (no private file needed). */
export function loadTokenVerificationJwks(dataDir: string): { keys: PublicSigningJwk[] } {
  const publicKey = createPublicKey(readFileSync(join(oauthKeyDir(dataDir), PUBLIC_FILE)));
  return { keys: [publicJwkOf(publicKey)] };
}
