/**
 * The token endpoint over real TLS on every store engine: one token per client authentication method
 * (tls_client_auth with the partner certificate, private_key_jwt with a certificate or with DPoP,
 * self_signed_tls_client_auth on the token listener), each checked against the JWKS the public listener
 * serves — signature, RFC 9068 header and claims, and the binding; the RFC 8414 metadata; curl as a real
 * peer; and the refusals of the endpoint itself (grant types, client secrets, scopes, resource, binding).
 */
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerClient } from '../../../src/auth/server/register-client.ts';
import { curlAsPartner } from '../../support/curl.ts';
import { engines } from '../../support/engines.ts';
import { startTestGateway, type TestGateway } from '../../support/harness.ts';
import { httpsRequest } from '../../support/https-client.ts';
import { runPeer } from '../../support/run.ts';
import {
  ASSERTION_TYPE,
  auditEntries,
  clientAssertion,
  decodeJwtParts,
  dpopProof,
  ISSUER,
  jktOf,
  p256Key,
  postForm,
  type SigningKey,
} from './support.ts';

const OPERATOR = { kind: 'operator' as const, id: 'test' };

for (const engine of engines()) {
  describe(`token endpoint on ${engine.name}`, () => {
    let t: TestGateway;
    let jwksKey: SigningKey;
    let selfSigned: { cert: string; key: string; x5t: string };
    let tmp: string;

    beforeAll(async () => {
      t = await startTestGateway(engine, (c) => {
        c.auth.tokenListener = { host: '127.0.0.1', port: 0 };
      });
      tmp = mkdtempSync(join(tmpdir(), 'fleetgate-as-'));
      jwksKey = await p256Key();
      const deps = { store: t.gateway.store, audit: t.gateway.audit, now: () => new Date() };
      await registerClient(
        deps,
        {
          clientId: 'jwt-tms',
          tenantId: 'jwt',
          authMethod: 'private_key_jwt',
          jwks: { keys: [jwksKey.publicJwk] },
          scopes: ['tenders:write', 'tenders:read'],
          tokenLifetimeSeconds: 120,
        },
        OPERATOR,
      );
      // A self-signed client certificate (not from the fleetgate CA), registered by thumbprint.
      const keyPath = join(tmp, 'self.key');
      const certPath = join(tmp, 'self.pem');
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      writeFileSync(keyPath, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
      const made = await runPeer('openssl', [
        'req',
        '-x509',
        '-new',
        '-key',
        keyPath,
        '-out',
        certPath,
        '-days',
        '30',
        '-subj',
        '/CN=self-signed-tms',
        '-addext',
        'basicConstraints=critical,CA:FALSE',
        '-addext',
        'extendedKeyUsage=clientAuth',
      ]);
      expect(made.code).toBe(0);
      const cert = readFileSync(certPath, 'utf8');
      const client = await registerClient(
        deps,
        {
          clientId: 'selfie-tms',
          tenantId: 'selfie',
          authMethod: 'self_signed_tls_client_auth',
          certificatePem: cert,
        },
        OPERATOR,
      );
      selfSigned = { cert, key: readFileSync(keyPath, 'utf8'), x5t: client.tlsClientAuthSanUri ?? '' };
    });
    afterAll(async () => {
      await t?.stop();
      rmSync(tmp, { recursive: true, force: true });
    });

    const token = (form: Record<string, string>, extra: Parameters<typeof postForm>[1] = { ca: '' }) =>
      postForm(`${t.url.control}/oauth/token`, { ...extra, ca: t.partner('acme-tms').ca, form });

    async function verifyWithPublishedJwks(accessToken: string) {
      const jwks = await httpsRequest(`${t.url.public}/oauth/jwks`, { ca: t.partner('acme-tms').ca });
      expect(jwks.status).toBe(200);
      expect(jwks.headers['content-type']).toMatch(/^application\/jwk-set\+json/);
      const set = createLocalJWKSet(jwks.json() as { keys: [] });
      return jwtVerify(accessToken, set, {
        algorithms: ['ES256'],
        issuer: ISSUER,
        audience: 'urn:fleetgate:control-plane',
        typ: 'at+jwt',
      });
    }

    it('serves RFC 8414 metadata and the JWKS on the public listener, without a client certificate', async () => {
      const ca = t.partner('acme-tms').ca;
      const res = await httpsRequest(`${t.url.public}/.well-known/oauth-authorization-server`, { ca });
      expect(res.status).toBe(200);
      const md = res.json();
      expect(md.issuer).toBe(ISSUER);
      expect(md.token_endpoint).toBe(`${ISSUER}/oauth/token`);
      expect(md.jwks_uri).toBe('https://localhost:8445/oauth/jwks');
      expect(md.grant_types_supported).toEqual(['client_credentials']);
      expect(md.token_endpoint_auth_methods_supported).toEqual([
        'tls_client_auth',
        'self_signed_tls_client_auth',
        'private_key_jwt',
      ]);
      expect(md.token_endpoint_auth_signing_alg_values_supported).not.toContain('none');
      expect(JSON.stringify(md)).not.toMatch(/client_secret|HS256|refresh_token|authorization_endpoint/);
      expect(md.tls_client_certificate_bound_access_tokens).toBe(true);
      expect(md.dpop_signing_alg_values_supported).toContain('ES256');
      expect(md.mtls_endpoint_aliases).toEqual({
        token_endpoint: `https://localhost:${t.gateway.addresses.oauthToken?.port}/oauth/token`,
        introspection_endpoint: `https://localhost:${t.gateway.addresses.oauthToken?.port}/oauth/introspect`,
        revocation_endpoint: `https://localhost:${t.gateway.addresses.oauthToken?.port}/oauth/revoke`,
      });
      const jwks = (await httpsRequest(`${t.url.public}/oauth/jwks`, { ca })).json() as {
        keys: Record<string, unknown>[];
      };
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(jwks.keys[0]).not.toHaveProperty('d');
    });

    it('tls_client_auth: a certificate-bound RFC 9068 token for the partner certificate', async () => {
      const acme = t.partner('acme-tms');
      const res = await token(
        { grant_type: 'client_credentials', client_id: 'acme-tms' },
        { ca: acme.ca, cert: acme.chain, key: acme.key },
      );
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers.pragma).toBe('no-cache');
      const body = res.json();
      expect(body).toMatchObject({
        token_type: 'Bearer',
        expires_in: 300,
        scope: 'tenders:write tenders:read tracking:read',
      });
      expect(body).not.toHaveProperty('refresh_token');
      const { payload, protectedHeader } = await verifyWithPublishedJwks(body.access_token as string);
      expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
      expect(typeof protectedHeader.kid).toBe('string');
      const der = new X509Certificate(acme.cert).raw;
      expect(payload).toMatchObject({
        iss: ISSUER,
        sub: 'acme-tms',
        client_id: 'acme-tms',
        aud: 'urn:fleetgate:control-plane',
        tenant: 'acme',
        scope: 'tenders:write tenders:read tracking:read',
        cnf: { 'x5t#S256': createHash('sha256').update(der).digest('base64url') },
      });
      expect(payload.exp).toBe((payload.iat as number) + 300);
      expect(payload.nbf).toBe(payload.iat);
      expect(typeof payload.jti).toBe('string');
      const rows = await t.gateway.store.query<{ client_id: string; binding: string }>(
        'SELECT client_id, binding FROM oauth_tokens WHERE jti = $1',
        [payload.jti as string],
      );
      expect(rows).toEqual([{ client_id: 'acme-tms', binding: 'mtls' }]);
      const issued = await auditEntries(t, 'auth.token.issued');
      const entry = issued.find((e) => (e.subject as { id: string }).id === payload.jti);
      expect(entry).toMatchObject({ actor: { kind: 'partner', id: 'acme-tms' }, outcome: 'accepted' });
      expect(JSON.stringify(issued)).not.toContain(body.access_token as string);
    });

    it('narrows scopes on request and refuses scopes the client does not hold, unknown ones and a foreign resource', async () => {
      const acme = t.partner('acme-tms');
      const tls = { ca: acme.ca, cert: acme.chain, key: acme.key };
      const narrow = await token(
        { grant_type: 'client_credentials', client_id: 'acme-tms', scope: 'tenders:read' },
        tls,
      );
      expect(narrow.json().scope).toBe('tenders:read');
      for (const scope of ['admin', 'tenders:read openid', 'commands:write', '']) {
        const res = await token({ grant_type: 'client_credentials', client_id: 'acme-tms', scope }, tls);
        expect(res.status).toBe(400);
        expect(res.json()).toMatchObject({ error: 'invalid_scope', code: 'OAUTH_INVALID_SCOPE' });
      }
      const resource = await token(
        { grant_type: 'client_credentials', client_id: 'acme-tms', resource: 'https://evil.example' },
        tls,
      );
      expect(resource.json()).toMatchObject({ error: 'invalid_target', code: 'OAUTH_INVALID_TARGET' });
      const ok = await token(
        { grant_type: 'client_credentials', client_id: 'acme-tms', resource: 'urn:fleetgate:control-plane' },
        tls,
      );
      expect(ok.status).toBe(200);
      const refused = await auditEntries(t, 'auth.token.request_refused');
      expect(refused.map((e) => (e.reasons as string[])[0])).toEqual(
        expect.arrayContaining(['SCOPE_NOT_ALLOWED', 'SCOPE_MALFORMED', 'RESOURCE_UNKNOWN']),
      );
    });

    it('offers client_credentials only: no refresh tokens, codes or passwords', async () => {
      const acme = t.partner('acme-tms');
      const tls = { ca: acme.ca, cert: acme.chain, key: acme.key };
      for (const grant of [
        'refresh_token',
        'authorization_code',
        'password',
        'urn:ietf:params:oauth:grant-type:jwt-bearer',
      ]) {
        const res = await token({ grant_type: grant, client_id: 'acme-tms', refresh_token: 'x' }, tls);
        expect(res.status).toBe(400);
        expect(res.json()).toMatchObject({
          error: 'unsupported_grant_type',
          code: 'OAUTH_UNSUPPORTED_GRANT_TYPE',
        });
      }
      const missing = await token({ client_id: 'acme-tms' }, tls);
      expect(missing.json()).toMatchObject({ error: 'invalid_request', code: 'OAUTH_INVALID_REQUEST' });
    });

    it('never accepts a client secret: Basic or client_secret is a failed client authentication', async () => {
      const acme = t.partner('acme-tms');
      const basic = await token(
        { grant_type: 'client_credentials', client_id: 'acme-tms' },
        {
          ca: acme.ca,
          cert: acme.chain,
          key: acme.key,
          headers: { authorization: `Basic ${Buffer.from('acme-tms:secret').toString('base64')}` },
        },
      );
      expect(basic.status).toBe(401);
      expect(basic.json()).toMatchObject({ error: 'invalid_client', code: 'OAUTH_INVALID_CLIENT' });
      const post = await token(
        { grant_type: 'client_credentials', client_id: 'acme-tms', client_secret: 'secret' },
        { ca: acme.ca, cert: acme.chain, key: acme.key },
      );
      expect(post.status).toBe(401);
      const failures = await auditEntries(t, 'auth.client.authentication_failed');
      expect(
        failures.filter((e) => (e.reasons as string[])[0] === 'CLIENT_SECRET_REFUSED').length,
      ).toBeGreaterThanOrEqual(2);
      expect(JSON.stringify(failures)).not.toContain('secret"');
      // A good request afterwards resets the counters (no lockout from two mistakes).
      const ok = await token(
        { grant_type: 'client_credentials', client_id: 'acme-tms' },
        { ca: acme.ca, cert: acme.chain, key: acme.key },
      );
      expect(ok.status).toBe(200);
    });

    it('tls_client_auth refuses another partner certificate and a vehicle certificate', async () => {
      const globex = t.partner('globex-tms');
      const other = await token(
        { grant_type: 'client_credentials', client_id: 'acme-tms' },
        { ca: globex.ca, cert: globex.chain, key: globex.key },
      );
      expect(other.status).toBe(401);
      const vehicle = t.vehicle('TRK-001');
      const asVehicle = await token(
        { grant_type: 'client_credentials', client_id: 'acme-tms' },
        { ca: vehicle.ca, cert: vehicle.chain, key: vehicle.key },
      );
      expect(asVehicle.status).toBe(401);
      const reasons = (await auditEntries(t, 'auth.client.authentication_failed')).map(
        (e) => (e.reasons as string[])[0],
      );
      expect(reasons).toContain('CERT_SAN_MISMATCH');
      const unknown = await token(
        { grant_type: 'client_credentials', client_id: 'stranger-tms' },
        { ca: globex.ca, cert: t.partner('stranger-tms').chain, key: t.partner('stranger-tms').key },
      );
      expect(unknown.json()).toMatchObject({ error: 'invalid_client' });
      const noClientId = await token(
        { grant_type: 'client_credentials' },
        { ca: globex.ca, cert: globex.chain, key: globex.key },
      );
      expect(noClientId.json()).toMatchObject({ error: 'invalid_request', code: 'OAUTH_INVALID_REQUEST' });
    });

    it('private_key_jwt over the partner certificate: a certificate-bound token with the client lifetime', async () => {
      const jwtPartner = t.partner('globex-tms');
      // The connection's certificate names globex-tms: an assertion for jwt-tms is refused on it…
      const mismatch = await token(
        {
          grant_type: 'client_credentials',
          client_assertion_type: ASSERTION_TYPE,
          client_assertion: await clientAssertion(jwksKey, 'jwt-tms', new Date()),
        },
        { ca: jwtPartner.ca, cert: jwtPartner.chain, key: jwtPartner.key },
      );
      expect(mismatch.status).toBe(401);
      // …and accepted on the token listener, where no fleetgate certificate is needed, bound with DPoP.
      const dpopKey = await p256Key();
      const url = `https://localhost:${t.gateway.addresses.oauthToken?.port}/oauth/token`;
      const first = await postForm(url, {
        ca: jwtPartner.ca,
        form: {
          grant_type: 'client_credentials',
          client_assertion_type: ASSERTION_TYPE,
          client_assertion: await clientAssertion(jwksKey, 'jwt-tms', new Date()),
        },
        dpop: await dpopProof(dpopKey, url, new Date()),
      });
      expect(first.status).toBe(400);
      expect(first.json()).toMatchObject({ error: 'use_dpop_nonce', code: 'OAUTH_DPOP_NONCE_REQUIRED' });
      const nonce = first.headers['dpop-nonce'] as string;
      expect(nonce).toMatch(/^[A-Za-z0-9_-]{30}$/);
      const second = await postForm(url, {
        ca: jwtPartner.ca,
        form: {
          grant_type: 'client_credentials',
          client_assertion_type: ASSERTION_TYPE,
          client_assertion: await clientAssertion(jwksKey, 'jwt-tms', new Date()),
          scope: 'tenders:read',
        },
        dpop: await dpopProof(dpopKey, url, new Date(), { claims: { nonce } }),
      });
      expect(second.status).toBe(200);
      const body = second.json();
      expect(body).toMatchObject({ token_type: 'DPoP', expires_in: 120, scope: 'tenders:read' });
      expect(second.headers['dpop-nonce']).toMatch(/^[A-Za-z0-9_-]{30}$/);
      const { payload } = await verifyWithPublishedJwks(body.access_token as string);
      expect(payload).toMatchObject({
        client_id: 'jwt-tms',
        tenant: 'jwt',
        cnf: { jkt: await jktOf(dpopKey) },
      });
      expect(payload.exp).toBe((payload.iat as number) + 120);
    });

    it('refuses to issue an unbound token: no certificate and no DPoP proof', async () => {
      const url = `https://localhost:${t.gateway.addresses.oauthToken?.port}/oauth/token`;
      const res = await postForm(url, {
        ca: t.partner('acme-tms').ca,
        form: {
          grant_type: 'client_credentials',
          client_assertion_type: ASSERTION_TYPE,
          client_assertion: await clientAssertion(jwksKey, 'jwt-tms', new Date()),
        },
      });
      expect(res.status).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid_request', code: 'OAUTH_BINDING_REQUIRED' });
    });

    it('self_signed_tls_client_auth on the token listener: bound to the pinned self-signed certificate', async () => {
      const port = t.gateway.addresses.oauthToken?.port;
      const url = `https://localhost:${port}/oauth/token`;
      const ca = t.partner('acme-tms').ca;
      const res = await postForm(url, {
        ca,
        form: { grant_type: 'client_credentials', client_id: 'selfie-tms' },
        cert: selfSigned.cert,
        key: selfSigned.key,
      });
      expect(res.status).toBe(200);
      const { payload } = await verifyWithPublishedJwks(res.json().access_token as string);
      expect(payload).toMatchObject({ client_id: 'selfie-tms', cnf: { 'x5t#S256': selfSigned.x5t } });
      // The control plane still refuses that certificate at the handshake…
      await expect(
        postForm(`${t.url.control}/oauth/token`, {
          ca,
          form: { grant_type: 'client_credentials', client_id: 'selfie-tms' },
          cert: selfSigned.cert,
          key: selfSigned.key,
        }),
      ).rejects.toThrow();
      // …another self-signed certificate is refused by thumbprint, and no certificate at all too.
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const keyPath = join(tmp, 'other.key');
      writeFileSync(keyPath, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
      const made = await runPeer('openssl', [
        'req',
        '-x509',
        '-new',
        '-key',
        keyPath,
        '-out',
        join(tmp, 'other.pem'),
        '-days',
        '3',
        '-subj',
        '/CN=other',
      ]);
      expect(made.code).toBe(0);
      const other = await postForm(url, {
        ca,
        form: { grant_type: 'client_credentials', client_id: 'selfie-tms' },
        cert: readFileSync(join(tmp, 'other.pem'), 'utf8'),
        key: readFileSync(keyPath, 'utf8'),
      });
      expect(other.status).toBe(401);
      const none = await postForm(url, {
        ca,
        form: { grant_type: 'client_credentials', client_id: 'selfie-tms' },
      });
      expect(none.status).toBe(401);
      const reasons = (await auditEntries(t, 'auth.client.authentication_failed')).map(
        (e) => (e.reasons as string[])[0],
      );
      expect(reasons).toEqual(expect.arrayContaining(['CERT_THUMBPRINT_MISMATCH', 'CERT_MISSING']));
      // The token listener serves /oauth/* only: the tender API is not there.
      const tenders = await postForm(`https://localhost:${port}/v1/tenders`, { ca, form: {} });
      expect(tenders.status).toBe(404);
    });

    it('curl gets a certificate-bound token with the partner certificate (RFC 6749 form POST)', async () => {
      const { out, code } = await curlAsPartner(t, 'acme-tms', [
        '-d',
        'grant_type=client_credentials',
        '-d',
        'client_id=acme-tms',
        `https://localhost:${t.gateway.addresses.controlPlane.port}/oauth/token`,
      ]);
      expect(code).toBe(0);
      const body = JSON.parse(out) as Record<string, unknown>;
      expect(body.token_type).toBe('Bearer');
      expect(decodeJwtParts(body.access_token as string).claims.cnf).toHaveProperty('x5t#S256');
    });

    it('answers malformed requests with RFC 6749 errors, not problem+json', async () => {
      const acme = t.partner('acme-tms');
      const tls = { ca: acme.ca, cert: acme.chain, key: acme.key };
      const json = await postForm(`${t.url.control}/oauth/token`, {
        ...tls,
        form: '{"grant_type":"client_credentials"}',
        contentType: 'application/json',
      });
      expect(json.status).toBe(400);
      expect(json.headers['content-type']).toMatch(/^application\/json/);
      expect(json.json()).toMatchObject({ error: 'invalid_request', code: 'OAUTH_INVALID_REQUEST' });
      const twice = await postForm(`${t.url.control}/oauth/token`, {
        ...tls,
        form: 'grant_type=client_credentials&client_id=acme-tms&scope=tenders:read&scope=admin',
      });
      expect(twice.json()).toMatchObject({ error: 'invalid_request', code: 'OAUTH_INVALID_REQUEST' });
      const huge = await postForm(`${t.url.control}/oauth/token`, {
        ...tls,
        form: `grant_type=client_credentials&client_id=acme-tms&x=${'a'.repeat(20_000)}`,
      });
      expect(huge.status).toBe(400);
      expect(huge.json()).toMatchObject({ error: 'invalid_request' });
      const reasons = (await auditEntries(t, 'auth.token.request_refused')).map(
        (e) => (e.reasons as string[])[0],
      );
      expect(reasons).toEqual(
        expect.arrayContaining(['FORM_CONTENT_TYPE', 'FORM_DUPLICATE_PARAMETER', 'FORM_TOO_LARGE']),
      );
      // Still serving.
      const ok = await token({ grant_type: 'client_credentials', client_id: 'acme-tms' }, tls);
      expect(ok.status).toBe(200);
    });
  });
}
