/**
 * The gateway's listeners against real peers: the openssl CLI, curl, and Node's TLS client.
 * Handshake-level refusals (TLS 1.2, no certificate, unknown CA, expired certificate) and the mTLS
 * control plane creating a tender, on every store engine. Tender routes need an access token (issue 4):
 * each partner first gets a certificate-bound one from POST /oauth/token with its certificate.
 */
import { generateKeyPairSync } from 'node:crypto';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSelfSignedCa, loadIssuingCa } from '../src/pki/ca.ts';
import { issuePartnerCertificate } from '../src/pki/issue.ts';

import { send } from './auth/resource/support/gateway.ts';
import { partnerToken } from './auth/resource/support/oauth.ts';
import { curlAsPartner } from './support/curl.ts';
import { engines } from './support/engines.ts';
import { type Credentials, startTestGateway, type TestGateway } from './support/harness.ts';
import { httpsRequest } from './support/https-client.ts';
import { runPeer } from './support/run.ts';
import { tenderBody } from './support/tender-body.ts';

const tender = tenderBody;

/** Resolves to the TLS outcome of a handshake plus one request: 'ok' or the error code. */
function tlsAttempt(
  port: number,
  opts: { ca: string; cert?: string; key?: string; maxVersion?: 'TLSv1.2' | 'TLSv1.3' },
) {
  return new Promise<{ outcome: string; group?: string }>((resolve) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca: opts.ca,
      servername: 'localhost',
      ...(opts.cert ? { cert: opts.cert, key: opts.key } : {}),
      ...(opts.maxVersion ? { maxVersion: opts.maxVersion, minVersion: 'TLSv1.2' as const } : {}),
    });
    let group: string | undefined;
    socket.on('secureConnect', () => {
      const info = socket.getEphemeralKeyInfo();
      group = info !== null && 'name' in info ? info.name : undefined;
      // TLS 1.3 client authentication completes after the client's Finished: the refusal arrives as an
      // alert on the first read, so send a request and wait for an answer or an error.
      socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    socket.on('data', () => {
      socket.destroy();
      resolve({ outcome: 'ok', ...(group ? { group } : {}) });
    });
    socket.on('error', (e: Error & { code?: string }) => resolve({ outcome: e.code ?? e.message }));
    socket.on('close', () => resolve({ outcome: 'closed' }));
  });
}

for (const engine of engines()) {
  describe(`listeners on ${engine.name}`, () => {
    let t: TestGateway;
    beforeAll(async () => {
      t = await startTestGateway(engine);
    });
    afterAll(async () => t?.stop());

    /** `Bearer <certificate-bound token>` for a partner, from the token endpoint with its certificate. */
    const bearer = async (id: string) =>
      `Bearer ${(await partnerToken(t.url.control, t.partner(id), id)).access_token}`;
    /** A tender API call with a partner's certificate and token. */
    const withToken = (
      url: string,
      p: Credentials,
      authorization: string,
      options: { body?: string | Uint8Array; contentType?: string } = {},
    ) =>
      send(url, {
        creds: p,
        headers: {
          authorization,
          ...(options.contentType === undefined ? {} : { 'content-type': options.contentType }),
        },
        ...(options.body === undefined ? {} : { body: options.body }),
      });

    it('refuses TLS 1.2 at the handshake (openssl s_client -tls1_2)', async () => {
      for (const port of [
        t.gateway.addresses.controlPlane.port,
        t.gateway.addresses.telemetry.port,
        t.gateway.addresses.public.port,
      ]) {
        const result = await runPeer('openssl', [
          's_client',
          '-connect',
          `127.0.0.1:${port}`,
          '-tls1_2',
          '-CAfile',
          t.caPath,
        ]);
        expect(result.code).not.toBe(0);
        expect(result.out).toMatch(/protocol version|no protocols available|wrong version/i);
      }
    });

    it('negotiates TLS 1.3 with X25519MLKEM768 first, and X25519 for a peer without it (openssl 3.0)', async () => {
      const partner = t.partner('acme-tms');
      const r = await tlsAttempt(t.gateway.addresses.controlPlane.port, {
        ca: partner.ca,
        cert: partner.chain,
        key: partner.key,
      });
      expect(r.outcome).toBe('ok');
      expect(r.group).toBe('X25519MLKEM768');
      const { out } = await runPeer('openssl', [
        's_client',
        '-connect',
        `127.0.0.1:${t.gateway.addresses.public.port}`,
        '-CAfile',
        t.caPath,
        '-brief',
      ]);
      expect(out).toMatch(/Protocol version: TLSv1\.3/);
      expect(out).toMatch(/Ciphersuite: TLS_AES_256_GCM_SHA384/);
      expect(out).toMatch(/Server Temp Key: X25519/);
    });

    it('refuses a client without a certificate on the control plane and the telemetry listener', async () => {
      for (const port of [t.gateway.addresses.controlPlane.port, t.gateway.addresses.telemetry.port]) {
        const r = await tlsAttempt(port, { ca: t.partner('acme-tms').ca });
        expect(r.outcome).not.toBe('ok');
      }
      const curl = await runPeer('curl', ['-sS', '--cacert', t.caPath, `${t.url.control}/v1/tenders/x`]);
      expect(curl.code).not.toBe(0);
    });

    it('refuses a certificate from an unknown CA and an expired certificate', async () => {
      const foreign = await createSelfSignedCa({ commonName: 'Mallory Root' });
      const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const rogue = await issuePartnerCertificate(foreign, { partnerId: 'acme-tms', publicKey: key });
      const keyPem = key.export({ format: 'pem', type: 'pkcs8' }) as string;
      const ca = t.partner('acme-tms').ca;
      expect(
        (await tlsAttempt(t.gateway.addresses.controlPlane.port, { ca, cert: rogue.chainPem, key: keyPem }))
          .outcome,
      ).not.toBe('ok');

      const ours = await loadIssuingCa(t.dataDir);
      const expired = await issuePartnerCertificate(ours, {
        partnerId: 'acme-tms',
        publicKey: key,
        notBefore: new Date(Date.now() - 10 * 86_400_000),
        notAfter: new Date(Date.now() - 86_400_000),
      });
      expect(
        (await tlsAttempt(t.gateway.addresses.controlPlane.port, { ca, cert: expired.chainPem, key: keyPem }))
          .outcome,
      ).not.toBe('ok');
      // The same key with a valid certificate is accepted: the refusals above were about the certificates.
      const valid = await issuePartnerCertificate(ours, { partnerId: 'acme-tms', publicKey: key });
      expect(
        (await tlsAttempt(t.gateway.addresses.controlPlane.port, { ca, cert: valid.chainPem, key: keyPem }))
          .outcome,
      ).toBe('ok');
    });

    it('curl with the partner certificate gets a token, creates a tender and gets a receipt', async () => {
      const { out: tokenOut } = await curlAsPartner(t, 'acme-tms', [
        '-d',
        'grant_type=client_credentials',
        '-d',
        'client_id=acme-tms',
        '-d',
        'scope=tenders:write tenders:read',
        `${t.url.control}/oauth/token`,
      ]);
      const issued = JSON.parse(tokenOut) as { access_token: string; token_type: string };
      expect(issued.token_type).toBe('Bearer');
      const body = JSON.stringify(tender('CURL-1'));
      const { out: stdout } = await curlAsPartner(t, 'acme-tms', [
        '-H',
        'content-type: application/json',
        '-H',
        `authorization: Bearer ${issued.access_token}`,
        '--data-binary',
        body,
        '-w',
        '\n%{http_code}',
        `${t.url.control}/v1/tenders`,
      ]);
      const [json, status] = stdout.trim().split('\n');
      expect(status).toBe('201');
      const created = JSON.parse(json ?? '{}') as {
        id: string;
        status: string;
        reasonCodes: string[];
        receipt: { auditIndex: number };
      };
      expect(created.status).toBe('accepted');
      expect(created.reasonCodes).toEqual(['LANE_SERVED']);
      expect(created.receipt.auditIndex).toBeGreaterThanOrEqual(0);
      const partner = t.partner('acme-tms');
      const fetched = await withToken(
        `${t.url.control}/v1/tenders/${created.id}`,
        partner,
        `Bearer ${issued.access_token}`,
      );
      expect(fetched.status).toBe(200);
      expect(fetched.json().reference).toBe('CURL-1');
    });

    it('decides from the lanes served, with reason codes', async () => {
      const p = t.partner('acme-tms');
      const token = await bearer('acme-tms');
      const post = (body: unknown) =>
        withToken(`${t.url.control}/v1/tenders`, p, token, { body: JSON.stringify(body) });
      const reverse = await post(
        tender('R-1', { origin: 'Houston, TX', destination: 'Dallas, TX', equipment: 'reefer' }),
      );
      expect(reverse.json()).toMatchObject({ status: 'accepted', laneId: 'DAL-HOU' });
      const elPaso = await post(tender('R-2', { origin: 'Fort Worth, TX', destination: 'El Paso, TX' }));
      expect(elPaso.json()).toMatchObject({ status: 'accepted', laneId: 'FTW-ELP' });
      const chicago = await post(tender('R-3', { destination: 'Chicago, IL' }));
      expect(chicago.json()).toMatchObject({ status: 'declined', reasonCodes: ['LANE_NOT_SERVED'] });
      const hazmat = await post(tender('R-4', { hazmat: true, weightKg: 30_000 }));
      expect(hazmat.json()).toMatchObject({
        status: 'declined',
        reasonCodes: ['HAZMAT_NOT_ALLOWED', 'OVERWEIGHT'],
      });
      const reefer = await post(
        tender('R-5', { origin: 'Fort Worth, TX', destination: 'El Paso, TX', equipment: 'reefer' }),
      );
      expect(reefer.json()).toMatchObject({ status: 'declined', reasonCodes: ['EQUIPMENT_NOT_SUPPORTED'] });
      const duplicate = await post(tender('R-1'));
      expect(duplicate.status).toBe(409);
      expect(duplicate.json().code).toBe('TENDER_DUPLICATE_REFERENCE');
    });

    it('refuses bad tender bodies with coded problem+json and keeps serving', async () => {
      const p = t.partner('acme-tms');
      const token = await bearer('acme-tms');
      const post = (body: string, contentType?: string) =>
        withToken(`${t.url.control}/v1/tenders`, p, token, { body, ...(contentType ? { contentType } : {}) });
      const cases: [string, string | undefined, number, string][] = [
        [JSON.stringify({ ...tender('M-1'), status: 'accepted' }), undefined, 400, 'REQUEST_INVALID'],
        [JSON.stringify({ ...tender('M-2'), tenantId: 'globex' }), undefined, 400, 'REQUEST_INVALID'],
        [`${'['.repeat(100_000)}${']'.repeat(100_000)}`, undefined, 413, 'REQUEST_BODY_TOO_LARGE'],
        [`${'['.repeat(1_000)}${']'.repeat(1_000)}`, undefined, 400, 'REQUEST_JSON_TOO_DEEP'],
        ['{"__proto__": {"admin": true}}', undefined, 400, 'REQUEST_FORBIDDEN_KEY'],
        ['{"reference": ', undefined, 400, 'REQUEST_MALFORMED_JSON'],
        ['\uFEFF{}', undefined, 400, 'REQUEST_MALFORMED_JSON'],
        [JSON.stringify(tender('M-3')), 'text/plain', 415, 'REQUEST_UNSUPPORTED_MEDIA_TYPE'],
        [
          JSON.stringify(tender('M-4')).replace('"weightKg":12000', '"weightKg":1e999'),
          undefined,
          400,
          'REQUEST_INVALID',
        ],
        [
          JSON.stringify(tender('M-5')).replace('"weightKg":12000', '"weightKg":9007199254740993'),
          undefined,
          400,
          'REQUEST_INVALID',
        ],
      ];
      for (const [body, type, status, code] of cases) {
        const res = await post(body, type);
        expect({ status: res.status, code: res.json().code }).toEqual({ status, code });
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
      const invalidUtf8 = await withToken(`${t.url.control}/v1/tenders`, p, token, {
        body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      });
      expect(invalidUtf8.json().code).toBe('REQUEST_MALFORMED_JSON');
      expect((await post(JSON.stringify(tender('M-OK')))).status).toBe(201);
    });

    it('isolates partners: another partner, a vehicle or an unregistered partner cannot read a tender', async () => {
      const acme = t.partner('acme-tms');
      const created = await withToken(`${t.url.control}/v1/tenders`, acme, await bearer('acme-tms'), {
        body: JSON.stringify(tender('ISO-1')),
      });
      const id = created.json().id as string;
      const globex = t.partner('globex-tms');
      const other = await withToken(`${t.url.control}/v1/tenders/${id}`, globex, await bearer('globex-tms'));
      expect(other.status).toBe(404);
      expect(other.json().code).toBe('TENDER_NOT_FOUND');
      const vehicle = t.vehicle('TRK-001');
      const asVehicle = await httpsRequest(`${t.url.control}/v1/tenders/${id}`, {
        ca: vehicle.ca,
        cert: vehicle.chain,
        key: vehicle.key,
      });
      expect(asVehicle.status).toBe(403);
      expect(asVehicle.json().code).toBe('AUTH_IDENTITY_NOT_ALLOWED');
      const stranger = t.partner('stranger-tms');
      const asStranger = await httpsRequest(`${t.url.control}/v1/tenders`, {
        ca: stranger.ca,
        cert: stranger.chain,
        key: stranger.key,
        body: JSON.stringify(tender('S-1')),
      });
      expect(asStranger.json().code).toBe('AUTH_IDENTITY_NOT_ALLOWED');
      const onTelemetry = await httpsRequest(`${t.url.telemetry}/v1/telemetry`, {
        ca: acme.ca,
        cert: acme.chain,
        key: acme.key,
        body: new Uint8Array([1, 2, 3]),
        contentType: 'application/x-protobuf',
      });
      expect(onTelemetry.json().code).toBe('AUTH_IDENTITY_NOT_ALLOWED');
    });

    it('serves the public listener without a client certificate, and ops on plain HTTP', async () => {
      const ca = t.partner('acme-tms').ca;
      const vkey = await httpsRequest(`${t.url.public}/v1/audit/vkey`, { ca });
      expect(vkey.status).toBe(200);
      expect(vkey.text).toMatch(/^fleetgate\.local\/audit\+[0-9a-f]{8}\+/);
      const bundle = await httpsRequest(`${t.url.public}/pki/ca.pem`, { ca });
      expect(bundle.text).toBe(ca);
      expect((await fetch(`${t.url.ops}/healthz`)).status).toBe(200);
      expect((await fetch(`${t.url.ops}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${t.url.ops}/metrics`)).text();
      expect(metrics).toMatch(/fleetgate_tenders_total\{decision="accepted"\} [1-9]/);
      expect(metrics).toMatch(/fleetgate_tls_handshakes_refused_total\{listener="controlPlane"\} [1-9]/);
      const missing = await fetch(`${t.url.ops}/nope`);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { code: string }).code).toBe('REQUEST_ROUTE_NOT_FOUND');
    });
  });
}
