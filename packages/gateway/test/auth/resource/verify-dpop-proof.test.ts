/**
 * DPoP proof checks on their own (RFC 9449 §4.3): every DPoP item of the SECURITY-CHECKLIST with its
 * code, the clock injected for iat and nonce slots, and proofs from EC, Ed25519 and RSA keys.
 */
import { createHmac, createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuthRefusal } from '../../../src/auth/resource/refusal.ts';
import { type DpopRequest, verifyDpopProof } from '../../../src/auth/resource/verify-dpop-proof.ts';
import { DpopNonces } from '../../../src/auth/server/dpop-nonce.ts';
import { b64u, type DpopKey, dpopKey, dpopProof, type ProofSpec } from './support/mint.ts';

const HTU = 'https://localhost:8443/v1/tenders';
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhY21lIn0.c2ln';
const T0 = 1_900_000_000;
let key: DpopKey;
let clock = T0;
const nonces = new DpopNonces(createSecretKey(randomBytes(32)), 60, () => new Date(clock * 1000));

beforeAll(async () => {
  key = await dpopKey();
});

const request = (over: Partial<DpopRequest> = {}): DpopRequest => ({
  method: 'POST',
  url: HTU,
  accessToken: TOKEN,
  now: new Date(clock * 1000),
  proofMaxAgeSeconds: 60,
  clockSkewSeconds: 30,
  algorithms: ['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256'],
  nonceValid: (n) => nonces.verify(n),
  ...over,
});

const proof = (over: Partial<ProofSpec> = {}, k: DpopKey = key) =>
  dpopProof(k, { htm: 'POST', htu: HTU, accessToken: TOKEN, nonce: nonces.issue(), iat: clock, ...over });

async function refusal(jwt: string | undefined, over: Partial<DpopRequest> = {}): Promise<string> {
  try {
    await verifyDpopProof(jwt, request(over));
  } catch (error) {
    expect(error).toBeInstanceOf(AuthRefusal);
    expect((error as AuthRefusal).scheme).toBe('DPoP');
    return (error as AuthRefusal).code;
  }
  throw new Error('the proof was accepted');
}

describe('verifyDpopProof', () => {
  it('accepts a proof and returns its key thumbprint; query and fragment are ignored in htu', async () => {
    const checked = await verifyDpopProof(await proof(), request());
    expect(checked.jkt).toBe(key.jkt);
    const withQuery = await proof({ htu: `${HTU}?x=1#frag` });
    await expect(verifyDpopProof(withQuery, request({ url: `${HTU}?y=2` }))).resolves.toMatchObject({
      jkt: key.jkt,
    });
    const upper = await proof({ htu: 'HTTPS://LOCALHOST:8443/v1/tenders' });
    await expect(verifyDpopProof(upper, request())).resolves.toBeDefined();
  });

  it('accepts Ed25519 and RSA-PSS proof keys', async () => {
    for (const [type, alg] of [
      ['ed25519', 'EdDSA'],
      ['rsa', 'PS256'],
    ] as const) {
      const pair =
        type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
      const jwk = await exportJWK(pair.publicKey);
      const k: DpopKey = { ...pair, jwk, jkt: await calculateJwkThumbprint(jwk), alg };
      expect((await verifyDpopProof(await proof({}, k), request())).jkt).toBe(k.jkt);
    }
  });

  it('refuses a missing proof, a wrong typ, alg none, a symmetric alg and an unlisted alg', async () => {
    expect(await refusal(undefined)).toBe('AUTH_DPOP_PROOF_INVALID');
    for (const typ of ['JWT', 'at+jwt', undefined]) {
      expect(await refusal(await proof({ header: { typ } }))).toBe('AUTH_DPOP_PROOF_INVALID');
    }
    const claims = { jti: 'j', htm: 'POST', htu: HTU, iat: clock, nonce: nonces.issue() };
    expect(await refusal(`${b64u({ alg: 'none', typ: 'dpop+jwt', jwk: key.jwk })}.${b64u(claims)}.`)).toBe(
      'AUTH_DPOP_PROOF_INVALID',
    );
    const secret = randomBytes(32);
    const oct = { kty: 'oct', k: secret.toString('base64url') };
    const input = `${b64u({ alg: 'HS256', typ: 'dpop+jwt', jwk: oct })}.${b64u(claims)}`;
    const hs = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    expect(await refusal(hs)).toBe('AUTH_DPOP_PROOF_INVALID');
    const es384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const jwk384 = await exportJWK(es384.publicKey);
    const k384: DpopKey = { ...es384, jwk: jwk384, jkt: await calculateJwkThumbprint(jwk384), alg: 'ES384' };
    expect(await refusal(await proof({}, k384))).toBe('AUTH_DPOP_PROOF_INVALID');
  });

  it('refuses private key material in jwk, a missing jwk, and a jwk that did not sign', async () => {
    const privateJwk = await exportJWK(key.privateKey);
    expect(privateJwk.d).toBeDefined();
    expect(await refusal(await proof({ header: { jwk: privateJwk } }))).toBe('AUTH_DPOP_PROOF_INVALID');
    expect(await refusal(await proof({ header: { jwk: undefined } }))).toBe('AUTH_DPOP_PROOF_INVALID');
    const other = await dpopKey();
    expect(await refusal(await proof({ header: { jwk: other.jwk } }))).toBe('AUTH_DPOP_PROOF_INVALID');
    const mismatchedCurve = { ...key.jwk, crv: 'P-384' };
    expect(await refusal(await proof({ header: { jwk: mismatchedCurve } }))).toBe('AUTH_DPOP_PROOF_INVALID');
  });

  it('refuses missing claims and an htm or htu that is not this request', async () => {
    for (const omit of ['jti', 'htm', 'htu', 'iat']) {
      expect(await refusal(await proof({ omit: [omit] }))).toBe('AUTH_DPOP_PROOF_INVALID');
    }
    expect(await refusal(await proof({ htm: 'GET' }))).toBe('AUTH_DPOP_PROOF_MISMATCH');
    expect(await refusal(await proof({ htm: 'post' }))).toBe('AUTH_DPOP_PROOF_MISMATCH');
    for (const htu of [
      'https://localhost:8443/v1/tenders/x',
      'https://localhost:8444/v1/tenders',
      'https://evil.example/v1/tenders',
      'http://localhost:8443/v1/tenders',
      'https://user@localhost:8443/v1/tenders',
      '/v1/tenders',
    ]) {
      expect(await refusal(await proof({ htu }))).toBe('AUTH_DPOP_PROOF_MISMATCH');
    }
  });

  it('refuses a stale or future iat beyond the window (injected clock)', async () => {
    expect(await refusal(await proof({ iat: clock - 60 - 31 }))).toBe('AUTH_DPOP_PROOF_STALE');
    await expect(verifyDpopProof(await proof({ iat: clock - 60 - 29 }), request())).resolves.toBeDefined();
    expect(await refusal(await proof({ iat: clock + 31 }))).toBe('AUTH_DPOP_PROOF_STALE');
    await expect(verifyDpopProof(await proof({ iat: clock + 29 }), request())).resolves.toBeDefined();
  });

  it('asks for a nonce when it is missing, forged or stale, and accepts the previous slot', async () => {
    expect(await refusal(await proof({ nonce: undefined }))).toBe('AUTH_DPOP_NONCE_REQUIRED');
    expect(await refusal(await proof({ nonce: 'A'.repeat(30) }))).toBe('AUTH_DPOP_NONCE_REQUIRED');
    const old = nonces.issue();
    clock += 60;
    await expect(verifyDpopProof(await proof({ nonce: old }), request())).resolves.toBeDefined();
    clock += 60;
    expect(await refusal(await proof({ nonce: old }))).toBe('AUTH_DPOP_NONCE_REQUIRED');
    await expect(
      verifyDpopProof(await proof({ nonce: undefined }), request({ nonceValid: undefined })),
    ).resolves.toBeDefined();
  });

  it('refuses an ath that is missing or of another token', async () => {
    expect(await refusal(await proof({ accessToken: `${TOKEN}x` }))).toBe('AUTH_DPOP_ATH_MISMATCH');
    expect(await refusal(await proof({ omit: ['ath'] }))).toBe('AUTH_DPOP_ATH_MISMATCH');
  });

  it('refuses malformed proofs with a code', async () => {
    for (const bad of ['', 'x', 'a.b.c', `${b64u('[]')}.${b64u({})}.sig`, 'x'.repeat(9000)]) {
      expect(await refusal(bad)).toBe('AUTH_DPOP_PROOF_INVALID');
    }
    const jwt = await new SignJWT({ jti: 'j', htm: 'POST', htu: HTU, iat: clock })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk, crit: ['b64'], b64: true })
      .sign(key.privateKey);
    expect(await refusal(jwt)).toBe('AUTH_DPOP_PROOF_INVALID');
  });
});
