/**
 * Access-token validation on its own (no gateway): every JWT item of the SECURITY-CHECKLIST with the
 * code it must produce, the clock injected for the time cases, a real HTTP server proving that jku/x5u
 * are never fetched, and a property: no single-byte mutation of a valid token is ever accepted, and
 * every refusal is a coded AuthRefusal (never an uncaught exception).
 */
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localIssuer } from '../../../src/auth/resource/local-issuer.ts';
import { AuthRefusal } from '../../../src/auth/resource/refusal.ts';
import type { TokenIssuer } from '../../../src/auth/resource/token-issuer.ts';
import { verifyAccessToken } from '../../../src/auth/resource/verify-access-token.ts';
import {
  AUDIENCE,
  b64u,
  es256Key,
  ISSUER,
  mintToken,
  publicJwk,
  type SigningKey,
  signRaw,
  tokenClaims,
  unsignedToken,
} from './support/mint.ts';

const BOUND = { cnf: { 'x5t#S256': 'A'.repeat(43) } };
let key: SigningKey;
let issuers: Map<string, TokenIssuer>;
let fetched = 0;
let trap: ReturnType<typeof createServer>;
let trapUrl: string;

beforeAll(async () => {
  key = es256Key();
  const jwks = [await publicJwk(key)];
  issuers = new Map([[ISSUER, localIssuer({ issuer: ISSUER, audience: AUDIENCE, publicJwks: () => jwks })]]);
  trap = createServer((_req, res) => {
    fetched += 1;
    res.end(JSON.stringify({ keys: jwks }));
  });
  await new Promise<void>((done) => trap.listen(0, '127.0.0.1', done));
  trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}/jwks.json`;
});
afterAll(() => new Promise<void>((done) => trap.close(() => done())));

const verify = (token: string, nowSeconds = Date.now() / 1000) =>
  verifyAccessToken(token, {
    issuers,
    now: new Date(nowSeconds * 1000),
    clockSkewSeconds: 30,
    maxTokenBytes: 8192,
  });

async function refusal(token: string, nowSeconds?: number): Promise<string> {
  try {
    await verify(token, nowSeconds);
  } catch (error) {
    expect(error).toBeInstanceOf(AuthRefusal);
    return (error as AuthRefusal).code;
  }
  throw new Error('the token was accepted');
}

describe('verifyAccessToken', () => {
  it('accepts a contract-shaped token and reads its claims and binding', async () => {
    const { token, jti } = await mintToken(key, BOUND);
    const verified = await verify(token);
    expect(verified).toMatchObject({
      clientId: 'acme-tms',
      subject: 'acme-tms',
      tenant: 'acme',
      jti,
      scopes: ['tenders:write', 'tenders:read'],
      binding: { kind: 'x5t#S256', value: 'A'.repeat(43) },
    });
    const dpop = await verify((await mintToken(key, { cnf: { jkt: 'B'.repeat(43) } })).token);
    expect(dpop.binding).toEqual({ kind: 'jkt', value: 'B'.repeat(43) });
  });

  it('refuses alg none and HS256 keyed with the public key (algorithm confusion)', async () => {
    const claims = tokenClaims(BOUND);
    expect(await refusal(unsignedToken({ alg: 'none', typ: 'at+jwt' }, claims))).toBe('AUTH_TOKEN_ALGORITHM');
    expect(await refusal(unsignedToken({ alg: 'NONE', typ: 'at+jwt' }, claims))).toBe('AUTH_TOKEN_ALGORITHM');
    const pem = key.publicKey.export({ format: 'pem', type: 'spki' }) as string;
    const input = `${b64u({ alg: 'HS256', typ: 'at+jwt', kid: key.kid })}.${b64u(claims)}`;
    const hs256 = `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
    expect(await refusal(hs256)).toBe('AUTH_TOKEN_ALGORITHM');
    const jwkSecret = new TextEncoder().encode(JSON.stringify(await publicJwk(key)));
    const viaJose = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .sign(jwkSecret);
    expect(await refusal(viaJose)).toBe('AUTH_TOKEN_ALGORITHM');
    const rs256 = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt' })
      .sign(key.privateKey)
      .catch(() => unsignedToken({ alg: 'RS256', typ: 'at+jwt', kid: key.kid }, claims));
    expect(await refusal(rs256)).toBe('AUTH_TOKEN_ALGORITHM');
  });

  it('refuses a kid with ../ and an unknown kid', async () => {
    for (const kid of ['../../etc/passwd', '../signing-key.pem', 'a/b', '', 'x'.repeat(200)]) {
      const { token } = await mintToken(key, { ...BOUND, header: { kid } });
      expect(await refusal(token)).toBe('AUTH_TOKEN_HEADER');
    }
    const { token } = await mintToken(key, { ...BOUND, header: { kid: 'someone-else' } });
    expect(await refusal(token)).toBe('AUTH_TOKEN_KEY_UNKNOWN');
    const other = es256Key(key.kid);
    expect(await refusal((await mintToken(other, BOUND)).token)).toBe('AUTH_TOKEN_SIGNATURE');
  });

  it('refuses jku, x5u, jwk and x5c headers without ever fetching them', async () => {
    const jwk = await publicJwk(key);
    for (const header of [{ jku: trapUrl }, { x5u: trapUrl }, { jwk }, { x5c: ['MIIB'] }]) {
      const { token } = await mintToken(key, { ...BOUND, header });
      expect(await refusal(token)).toBe('AUTH_TOKEN_HEADER');
    }
    expect(fetched).toBe(0);
  });

  it('refuses exp past, nbf and iat in the future beyond the skew, within the skew accepts (injected clock)', async () => {
    const iat = Math.floor(Date.now() / 1000);
    const { token } = await mintToken(key, { ...BOUND, iat, lifetimeSeconds: 300 });
    expect(await refusal(token, iat + 300 + 31)).toBe('AUTH_TOKEN_EXPIRED');
    await expect(verify(token, iat + 300 + 29)).resolves.toBeDefined();
    expect(await refusal(token, iat - 31)).toBe('AUTH_TOKEN_NOT_YET_VALID');
    await expect(verify(token, iat - 29)).resolves.toBeDefined();
    const futureIat = await mintToken(key, { ...BOUND, claims: { iat: iat + 120, nbf: iat } });
    expect(await refusal(futureIat.token, iat)).toBe('AUTH_TOKEN_NOT_YET_VALID');
    const noExp = await mintToken(key, { ...BOUND, omit: ['exp'] });
    expect(await refusal(noExp.token)).toBe('AUTH_TOKEN_EXPIRED');
    const stringExp = await mintToken(key, { ...BOUND, claims: { exp: String(iat + 300) } });
    expect(await refusal(stringExp.token)).toBe('AUTH_TOKEN_EXPIRED');
  });

  it('refuses a wrong or missing iss and aud', async () => {
    const cases: [Partial<Parameters<typeof mintToken>[1]>, string][] = [
      [{ claims: { iss: 'https://evil.example' } }, 'AUTH_TOKEN_ISSUER'],
      [{ omit: ['iss'] }, 'AUTH_TOKEN_ISSUER'],
      [{ claims: { iss: `${ISSUER}/` } }, 'AUTH_TOKEN_ISSUER'],
      [{ claims: { aud: 'urn:someone-else' } }, 'AUTH_TOKEN_AUDIENCE'],
      [{ claims: { aud: ['urn:a', 'urn:b'] } }, 'AUTH_TOKEN_AUDIENCE'],
      [{ omit: ['aud'] }, 'AUTH_TOKEN_AUDIENCE'],
    ];
    for (const [spec, code] of cases) {
      expect(await refusal((await mintToken(key, { ...BOUND, ...spec })).token)).toBe(code);
    }
    const list = await mintToken(key, { ...BOUND, claims: { aud: ['urn:other', AUDIENCE] } });
    await expect(verify(list.token)).resolves.toBeDefined();
  });

  it('refuses an unknown crit, a wrong typ, a token over 8 KiB, and a broken signature', async () => {
    const critHeader = {
      alg: 'ES256',
      typ: 'at+jwt',
      kid: key.kid,
      crit: ['urn:example:unknown'],
      'urn:example:unknown': 1,
    };
    expect(await refusal(signRaw(key, critHeader, tokenClaims(BOUND)))).toBe('AUTH_TOKEN_HEADER');
    for (const typ of ['JWT', 'jwt', 'dpop+jwt', undefined]) {
      const { token } = await mintToken(key, { ...BOUND, header: { typ } });
      expect(await refusal(token)).toBe('AUTH_TOKEN_HEADER');
    }
    const appTyp = await mintToken(key, { ...BOUND, header: { typ: 'application/at+jwt' } });
    await expect(verify(appTyp.token)).resolves.toBeDefined();
    const big = await mintToken(key, { ...BOUND, claims: { pad: 'x'.repeat(8200) } });
    expect(await refusal(big.token)).toBe('AUTH_TOKEN_TOO_LARGE');
    const { token } = await mintToken(key, BOUND);
    const [h, p, s] = token.split('.') as [string, string, string];
    const flipped = `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    expect(await refusal(flipped)).toBe('AUTH_TOKEN_SIGNATURE');
    const otherClaims = `${h}.${b64u({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), scope: 'admin' })}.${s}`;
    expect(await refusal(otherClaims)).toBe('AUTH_TOKEN_SIGNATURE');
  });

  it('refuses unbound tokens and missing client claims', async () => {
    expect(await refusal((await mintToken(key, {})).token)).toBe('AUTH_TOKEN_UNBOUND');
    for (const cnf of [
      {},
      { 'x5t#S256': 'A'.repeat(43), jkt: 'B'.repeat(43) },
      { jkt: 'short' },
      { 'x5t#S256': 7 },
    ]) {
      expect(await refusal((await mintToken(key, { cnf })).token)).toBe('AUTH_TOKEN_UNBOUND');
    }
    for (const omit of ['sub', 'jti', 'client_id', 'scope', 'tenant', 'iat']) {
      expect(await refusal((await mintToken(key, { ...BOUND, omit: [omit] })).token)).toBe(
        'AUTH_TOKEN_CLAIMS',
      );
    }
    const otherSub = await mintToken(key, { ...BOUND, claims: { sub: 'globex-tms' } });
    expect(await refusal(otherSub.token)).toBe('AUTH_TOKEN_CLAIMS');
  });

  it('refuses malformed compact serializations with a code', async () => {
    const { token } = await mintToken(key, BOUND);
    const [h, p] = token.split('.') as [string, string];
    for (const bad of [
      '',
      'a.b',
      'a.b.c.d',
      `${h}.${p}`,
      `${h}=.${p}.sig`,
      `!!.${p}.x`,
      `${b64u('[1]')}.${p}.x`,
    ]) {
      expect(await refusal(bad)).toMatch(/^AUTH_TOKEN_(MALFORMED|SIGNATURE)$/);
    }
    const deep = `${b64u(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`)}.${p}.x`;
    expect(await refusal(deep)).toBe('AUTH_TOKEN_MALFORMED');
    const proto = `${b64u('{"alg":"ES256","__proto__":{"admin":true}}')}.${p}.x`;
    expect(await refusal(proto)).toBe('AUTH_TOKEN_MALFORMED');
  });

  it('never accepts a mutated token and always refuses with a code (property)', async () => {
    const { token } = await mintToken(key, BOUND);
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: token.length - 1 }),
        fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'),
        async (index, replacement) => {
          fc.pre(token[index] !== replacement);
          const mutated = token.slice(0, index) + replacement + token.slice(index + 1);
          const result = await verify(mutated).then(
            () => 'accepted',
            (error: unknown) => (error instanceof AuthRefusal ? error.code : `uncaught ${String(error)}`),
          );
          // A change in the last character's unused low bits can decode to the same signature bytes.
          if (result === 'accepted')
            expect(Buffer.from(mutated.split('.')[2] ?? '', 'base64url')).toEqual(
              Buffer.from(token.split('.')[2] ?? '', 'base64url'),
            );
          else expect(result).toMatch(/^AUTH_TOKEN_[A-Z_]+$/);
        },
      ),
      { numRuns: 300 },
    );
  });
});
