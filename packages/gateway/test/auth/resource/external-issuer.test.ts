/**
 * External issuers against a real local HTTPS server playing Keycloak (its own CA, RFC 8414 metadata,
 * RS256 JWKS): tokens accepted through the metadata; the key set cached, refreshed on an unknown kid at
 * most once per interval (counted at the server, with an injected monotonic clock — no timing
 * assertion); the last good key set kept through an outage; a metadata issuer mismatch, an http
 * jwks_uri and a redirect refused; jku never followed.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ExternalIssuer, externalIssuer } from '../../../src/auth/resource/external-issuer.ts';
import { verifyAccessToken } from '../../../src/auth/resource/verify-access-token.ts';
import { defaultExternalIssuer } from '../../../src/config/config.ts';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { type FakeKeycloak, keycloakClaims, startFakeKeycloak } from './support/keycloak.ts';

const BOUND = { cnf: { 'x5t#S256': 'A'.repeat(43) } };
let kc: FakeKeycloak;
let clockMs = 0;

beforeAll(async () => {
  kc = await startFakeKeycloak();
});
afterAll(async () => kc?.close());
beforeEach(() => {
  kc.down = false;
  kc.metadata = {};
});

const make = (over: Record<string, unknown> = {}): ExternalIssuer =>
  externalIssuer(
    {
      ...defaultExternalIssuer({
        issuer: kc.issuer,
        metadataUrl: kc.metadataUrl,
        audience: 'urn:fleetgate:control-plane',
      }),
      tokenTypes: ['jwt', 'at+jwt'],
      caFile: kc.caFile,
      jwksMinRefreshSeconds: 30,
      jwksMaxAgeSeconds: 600,
      ...over,
    },
    { dataDir: '/nonexistent', clock: () => clockMs },
  );

const verify = (issuer: ExternalIssuer, token: string) =>
  verifyAccessToken(token, {
    issuers: new Map([[issuer.issuer, issuer]]),
    now: new Date(),
    clockSkewSeconds: 30,
    maxTokenBytes: 8192,
  });

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    return (error as GatewayError).code;
  }
  return 'accepted';
}

describe('external issuer (Keycloak-shaped, RFC 8414)', () => {
  it('accepts a Keycloak token via metadata + JWKS, naming the client by azp', async () => {
    const issuer = make();
    const token = await kc.sign(keycloakClaims(kc, 'acme-tms', BOUND));
    const verified = await verify(issuer, token);
    expect(verified).toMatchObject({
      clientId: 'acme-tms',
      tenant: undefined,
      binding: { kind: 'x5t#S256' },
    });
    expect(issuer.fetches).toBe(1);
    await verify(issuer, await kc.sign(keycloakClaims(kc, 'acme-tms', BOUND)));
    expect(issuer.fetches).toBe(1); // cached
  });

  it('refreshes on an unknown kid (key rotation), at most once per interval', async () => {
    const issuer = make();
    await verify(issuer, await kc.sign(keycloakClaims(kc, 'acme-tms', BOUND)));
    const before = { ...kc.requests };
    kc.rotate();
    clockMs += 31_000;
    const rotated = await kc.sign(keycloakClaims(kc, 'acme-tms', BOUND));
    await expect(verify(issuer, rotated)).resolves.toMatchObject({ clientId: 'acme-tms' });
    expect(kc.requests.jwks).toBe(before.jwks + 1);
    // A flood of random kids right after: no fetch at all.
    for (let i = 0; i < 20; i += 1) {
      const random = await kc.sign(keycloakClaims(kc, 'acme-tms', BOUND), { kid: `random-${i}` });
      expect(await codeOf(verify(issuer, random))).toBe('AUTH_TOKEN_KEY_UNKNOWN');
    }
    expect(kc.requests.jwks).toBe(before.jwks + 1);
    clockMs += 31_000;
    const late = await kc.sign(keycloakClaims(kc, 'acme-tms', BOUND), { kid: 'random-late' });
    expect(await codeOf(verify(issuer, late))).toBe('AUTH_TOKEN_KEY_UNKNOWN');
    expect(kc.requests.jwks).toBe(before.jwks + 2);
    kc.retireOld();
  });

  it('keeps the last good key set through an outage, and answers 503 with no key set at all', async () => {
    const issuer = make({ jwksMaxAgeSeconds: 30 });
    const token = await kc.sign(keycloakClaims(kc, 'acme-tms', BOUND));
    await verify(issuer, token);
    kc.down = true;
    clockMs += 60_000;
    await expect(verify(issuer, token)).resolves.toBeDefined();
    const cold = make();
    let error: unknown;
    await verify(cold, token).catch((e: unknown) => {
      error = e;
    });
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe('AUTH_ISSUER_UNAVAILABLE');
    expect((error as GatewayError).status).toBe(503);
    expect((error as GatewayError).retryAfterSeconds).toBe(30);
  });

  it('refuses metadata whose issuer differs, an http jwks_uri, and a redirect', async () => {
    const token = await kc.sign(keycloakClaims(kc, 'acme-tms', BOUND));
    kc.metadata = { issuer: 'https://evil.example/realms/fleet' };
    expect(await codeOf(verify(make(), token))).toBe('AUTH_ISSUER_UNAVAILABLE');
    kc.metadata = { jwks_uri: kc.issuer.replace('https:', 'http:') };
    expect(await codeOf(verify(make(), token))).toBe('AUTH_ISSUER_UNAVAILABLE');
    kc.metadata = { jwks_uri: `${kc.issuer}/nowhere` };
    expect(await codeOf(verify(make(), token))).toBe('AUTH_ISSUER_UNAVAILABLE');
    expect(await codeOf(verify(make({ caFile: undefined }), token))).toBe('AUTH_ISSUER_UNAVAILABLE'); // unknown CA
  });

  it('refuses alg none/HS256, a foreign audience, and never follows jku', async () => {
    const issuer = make();
    const before = { ...kc.requests };
    const jku = await kc.sign(keycloakClaims(kc, 'acme-tms', BOUND), {
      jku: `${kc.issuer}/protocol/openid-connect/certs`,
    });
    expect(await codeOf(verify(issuer, jku))).toBe('AUTH_TOKEN_HEADER');
    expect(kc.requests).toEqual(before);
    const aud = await kc.sign(keycloakClaims(kc, 'acme-tms', { ...BOUND, aud: 'account' }));
    expect(await codeOf(verify(issuer, aud))).toBe('AUTH_TOKEN_AUDIENCE');
    const unbound = await kc.sign(keycloakClaims(kc, 'acme-tms'));
    expect(await codeOf(verify(issuer, unbound))).toBe('AUTH_TOKEN_UNBOUND');
    const es = make({ algorithms: ['ES256'] });
    expect(await codeOf(verify(es, await kc.sign(keycloakClaims(kc, 'acme-tms', BOUND))))).toBe(
      'AUTH_TOKEN_ALGORITHM',
    );
  });
});
