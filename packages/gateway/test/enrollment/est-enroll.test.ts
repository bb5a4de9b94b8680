/**
 * EST simpleenroll and cacerts against a real gateway, with the real openssl and curl as the client:
 * `openssl genpkey -algorithm ed25519` → `openssl req -new` → base64 DER → `curl --data-binary` →
 * `openssl pkcs7 -print_certs` → the new certificate works with curl on the telemetry listener. Every
 * bad input of the brief gets its coded refusal and an audit entry, and the gateway keeps serving.
 * On every store engine.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { toHex } from '@fleetgate/core/bytes';
import { sha256 } from '@fleetgate/core/hash';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCertificate } from '../../src/pki/inventory.ts';
import { engines } from '../support/engines.ts';
import { batchBytes, envelopeBytes, signerFromPem } from '../support/envelopes.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import {
  auditEntries,
  csr,
  curl,
  genKey,
  mustOpenssl,
  newToken,
  pkcs7Certificates,
  problemCode,
  Workdir,
} from './support.ts';

for (const engine of engines()) {
  describe(`EST simpleenroll on ${engine.name}`, () => {
    let t: TestGateway;
    let w: Workdir;
    let offsetMs = 0;
    const now = () => new Date(Date.now() + offsetMs);
    const deps = () => ({ store: t.gateway.store, audit: t.gateway.audit, now });
    const enroll = (body: string, bearer?: string, cert?: { cert: string; key: string }) =>
      curl(w, `${t.url.public}/.well-known/est/simpleenroll`, {
        ca: t.caPath,
        data: body,
        ...(bearer === undefined ? {} : { bearer }),
        ...(cert ?? {}),
      });
    /** Leaf first, then the rest: the chain a TLS client presents. */
    const chainFile = (pems: string[]): { chain: string; leaf: X509Certificate } => {
      const certs = pems.map((p) => new X509Certificate(p));
      const leaf = certs.find((c) => !c.ca);
      if (leaf === undefined) throw new Error('no leaf in the response');
      const ordered = [leaf, ...certs.filter((c) => c !== leaf)].map((c) => c.toString()).join('');
      return { chain: w.write(`${leaf.serialNumber}.chain.pem`, ordered), leaf };
    };

    beforeAll(async () => {
      w = new Workdir();
      t = await startTestGateway(engine, undefined, now);
    });
    afterAll(async () => {
      await t?.stop();
      w?.cleanup();
    });

    it('serves the trust bundle as a base64 certs-only PKCS#7 (cacerts) to a client without a certificate', async () => {
      const r = await curl(w, `${t.url.public}/.well-known/est/cacerts`, { ca: t.caPath });
      expect(r.status).toBe(200);
      expect(r.headers).toMatch(/content-type: application\/pkcs7-mime; smime-type=certs-only/i);
      expect(r.headers).toMatch(/content-transfer-encoding: base64/i);
      const certs = pkcs7Certificates(w, r.body).map((p) => new X509Certificate(p));
      const bundle = readFileSync(t.caPath, 'utf8');
      expect(certs.map((c) => c.fingerprint256).sort()).toEqual(
        (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [])
          .map((p) => new X509Certificate(p).fingerprint256)
          .sort(),
      );
    });

    it('enrolls an openssl Ed25519 request with a bootstrap token; the certificate works on telemetry', async () => {
      const token = await newToken(deps(), 'TRK-101');
      const key = genKey(w, 'ed25519');
      const r = await enroll(csr(w, key, '/CN=TRK-101'), token);
      expect(r.status).toBe(200);
      expect(r.headers).toMatch(/content-type: application\/pkcs7-mime; smime-type=certs-only/i);
      const pems = pkcs7Certificates(w, r.body);
      expect(pems).toHaveLength(2); // the new certificate and the issuing intermediate
      const { chain, leaf } = chainFile(pems);
      expect(leaf.subjectAltName).toBe('URI:urn:fleetgate:vehicle:TRK-101');
      expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
      mustOpenssl(['verify', '-CAfile', t.caPath, '-purpose', 'sslclient', chain]);

      const serial = leaf.serialNumber.toLowerCase();
      const entry = await getCertificate(t.gateway.store, serial);
      expect(entry).toMatchObject({
        kind: 'vehicle',
        subjectId: 'TRK-101',
        status: 'active',
        replacedBy: null,
      });
      const thumbprint = toHex(sha256(new Uint8Array(leaf.raw)));
      expect(entry?.thumbprintSha256).toBe(thumbprint);
      const issued = (await auditEntries(t.gateway.store, 'pki.certificate.issued')).at(-1);
      expect(issued).toMatchObject({
        actor: { kind: 'vehicle', id: 'TRK-101' },
        subject: { kind: 'certificate', id: serial },
        details: { certSha256: thumbprint, method: 'token', subjectId: 'TRK-101' },
      });
      expect(JSON.stringify(issued)).not.toContain(token);

      const envelope = w.write(
        'telemetry.bin',
        envelopeBytes(
          signerFromPem(readFileSync(key, 'utf8')),
          1n,
          batchBytes('TRK-101', { sentAt: now().getTime() }),
        ),
      );
      const sent = await curl(w, `${t.url.telemetry}/v1/telemetry`, {
        ca: t.caPath,
        data: envelope,
        contentType: 'application/x-protobuf',
        cert: chain,
        key,
      });
      expect(sent.status).toBe(202);
      expect(JSON.parse(sent.body)).toMatchObject({ status: 'accepted', vehicleId: 'TRK-101' });

      // The token was spent: presenting it again is refused, coded and audited.
      const again = await enroll(csr(w, genKey(w, 'ed25519'), '/CN=TRK-101'), token);
      expect(again.status).toBe(401);
      expect(problemCode(again)).toBe('EST_TOKEN_USED');
      expect(again.headers).toMatch(/www-authenticate: Bearer/i);
      // The same key again, with a fresh token: a key is certified once.
      const reuse = await enroll(csr(w, key, '/CN=TRK-101'), await newToken(deps(), 'TRK-101'));
      expect(problemCode(reuse)).toBe('EST_KEY_REUSED');
      expect(reuse.status).toBe(409);
    });

    it('names the vehicle itself when the request has no subject, and ignores requested extensions', async () => {
      const token = await newToken(deps(), 'TRK-102');
      const body = csr(w, genKey(w, 'ed25519'), '/', [
        'basicConstraints=critical,CA:TRUE',
        'extendedKeyUsage=serverAuth,clientAuth',
        'keyUsage=keyCertSign',
      ]);
      const r = await enroll(body, token);
      expect(r.status).toBe(200);
      const { leaf } = chainFile(pkcs7Certificates(w, r.body));
      expect(leaf.ca).toBe(false);
      expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
      expect(leaf.subject).toContain('CN=TRK-102');
      expect(leaf.subjectAltName).toBe('URI:urn:fleetgate:vehicle:TRK-102');
    });

    it('refuses bad input with a code and an audit entry, without spending the token', async () => {
      const token = await newToken(deps(), 'TRK-103');
      const cases: Array<[string, string, string | undefined, number]> = [
        ['garbage base64', w.write('garbage.b64', '%%% not base64 %%%'), 'EST_REQUEST_MALFORMED', 400],
        [
          'base64 of garbage',
          w.write('noise.b64', Buffer.from('not a request').toString('base64')),
          'EST_REQUEST_MALFORMED',
          400,
        ],
        [
          'another vehicle in the CN',
          csr(w, genKey(w, 'ed25519'), '/CN=TRK-104'),
          'EST_CSR_IDENTITY_MISMATCH',
          403,
        ],
        [
          'another vehicle in the SAN',
          csr(w, genKey(w, 'ed25519'), '/CN=TRK-103', ['subjectAltName=URI:urn:fleetgate:vehicle:TRK-104']),
          'EST_CSR_IDENTITY_MISMATCH',
          403,
        ],
        [
          'an extra DNS SAN',
          csr(w, genKey(w, 'ed25519'), '/CN=TRK-103', [
            'subjectAltName=URI:urn:fleetgate:vehicle:TRK-103,DNS:evil.example',
          ]),
          'EST_CSR_IDENTITY_MISMATCH',
          403,
        ],
        ['an RSA-1024 key', csr(w, genKey(w, 'rsa1024'), '/CN=TRK-103'), 'EST_CSR_KEY_NOT_ALLOWED', 400],
        ['an RSA-2048 key', csr(w, genKey(w, 'rsa2048'), '/CN=TRK-103'), 'EST_CSR_KEY_NOT_ALLOWED', 400],
        ['a P-256 key', csr(w, genKey(w, 'p256'), '/CN=TRK-103'), 'EST_CSR_KEY_NOT_ALLOWED', 400],
      ];
      // A bad self-signature: the last byte of the signature, and one byte of the signed subject.
      const good = Buffer.from(readFileSync(csr(w, genKey(w, 'ed25519'), '/CN=TRK-103'), 'utf8'), 'base64');
      const badSig = Buffer.from(good);
      badSig[badSig.length - 1] = (badSig[badSig.length - 1] ?? 0) ^ 0x01;
      cases.push([
        'a flipped signature bit',
        w.write('badsig.b64', badSig.toString('base64')),
        'EST_CSR_SIGNATURE_INVALID',
        400,
      ]);
      const badInfo = Buffer.from(good);
      const at = badInfo.indexOf(Buffer.from('TRK-103'));
      badInfo[at + 6] = '4'.charCodeAt(0); // TRK-103 → TRK-104 inside the signed bytes
      cases.push([
        'a changed signed subject',
        w.write('badinfo.b64', badInfo.toString('base64')),
        'EST_CSR_SIGNATURE_INVALID',
        400,
      ]);
      const trailing = Buffer.concat([good, Buffer.from([0])]);
      cases.push([
        'a trailing byte',
        w.write('trailing.b64', trailing.toString('base64')),
        'EST_REQUEST_MALFORMED',
        400,
      ]);

      const before = (await auditEntries(t.gateway.store, 'pki.enrollment.refused')).length;
      for (const [name, body, code, status] of cases) {
        const r = await enroll(body, token);
        expect({ name, status: r.status, code: problemCode(r) }).toEqual({ name, status, code });
      }
      const refused = (await auditEntries(t.gateway.store, 'pki.enrollment.refused')).slice(before);
      expect(refused).toHaveLength(cases.length);
      expect(refused.map((e) => (e.reasons as string[])[0])).toEqual(cases.map((c) => c[2]));
      expect(refused[0]).toMatchObject({ actor: { kind: 'vehicle', id: 'TRK-103' }, outcome: 'rejected' });
      expect(JSON.stringify(refused)).not.toContain(token);

      // The token is still good for a well-formed request.
      const ok = await enroll(csr(w, genKey(w, 'ed25519'), '/CN=TRK-103'), token);
      expect(ok.status).toBe(200);
    });

    it('refuses missing, unknown, expired and withdrawn tokens', async () => {
      const body = csr(w, genKey(w, 'ed25519'), '/CN=TRK-105');
      const none = await enroll(body);
      expect([none.status, problemCode(none)]).toEqual([401, 'EST_AUTH_REQUIRED']);
      expect(none.headers).toMatch(/www-authenticate: Bearer/i);
      const unknown = await enroll(body, `fgbt_${'A'.repeat(43)}`);
      expect([unknown.status, problemCode(unknown)]).toEqual([401, 'EST_TOKEN_INVALID']);
      const malformed = await enroll(body, 'not-a-token');
      expect(problemCode(malformed)).toBe('EST_TOKEN_INVALID');

      const shortLived = await newToken(deps(), 'TRK-105', 60);
      offsetMs += 61_000;
      const expired = await enroll(body, shortLived);
      expect([expired.status, problemCode(expired)]).toEqual([401, 'EST_TOKEN_EXPIRED']);

      const older = await newToken(deps(), 'TRK-105');
      const newer = await newToken(deps(), 'TRK-105');
      expect(problemCode(await enroll(body, older))).toBe('EST_TOKEN_USED');
      expect((await enroll(body, newer)).status).toBe(200);

      const refused = await auditEntries(t.gateway.store, 'pki.enrollment.refused');
      expect(refused.some((e) => (e.actor as { id: string }).id === '(unauthenticated)')).toBe(true);
    });

    it('keeps every other public route working without a client certificate and with an untrusted one', async () => {
      const plain = await curl(w, `${t.url.public}/pki/ca.pem`, { ca: t.caPath });
      expect(plain.status).toBe(200);
      const rogueKey = genKey(w, 'p256');
      const rogueCert = w.fresh('.rogue.pem');
      mustOpenssl([
        'req',
        '-x509',
        '-key',
        rogueKey,
        '-subj',
        '/CN=rogue',
        '-days',
        '1',
        '-out',
        rogueCert,
        '-addext',
        'subjectAltName=URI:urn:fleetgate:vehicle:TRK-001',
      ]);
      const withRogue = await curl(w, `${t.url.public}/v1/audit/vkey`, {
        ca: t.caPath,
        cert: rogueCert,
        key: rogueKey,
      });
      expect(withRogue.status).toBe(200);
      // An unverified certificate is never an identity: simplereenroll refuses it.
      const reenroll = await curl(w, `${t.url.public}/.well-known/est/simplereenroll`, {
        ca: t.caPath,
        data: csr(w, genKey(w, 'ed25519'), '/CN=TRK-001'),
        cert: rogueCert,
        key: rogueKey,
      });
      expect([reenroll.status, problemCode(reenroll)]).toEqual([401, 'AUTH_CLIENT_CERT_REQUIRED']);
    });
  });
}
