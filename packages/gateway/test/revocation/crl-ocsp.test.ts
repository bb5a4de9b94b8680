/**
 * CRL and OCSP against real peers: the gateway publishes an RFC 5280 v2 CRL (number, AKI, reason codes)
 * that `openssl crl` reads and `openssl verify -crl_check` enforces, and answers RFC 6960 OCSP that the
 * real `openssl ocsp` client verifies (delegated responder, nonce) — `good`, then `revoked` with reason
 * and time after revokeCertificate. Malformed requests get `malformedRequest`; the gateway keeps
 * serving. On every store engine.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OCSPResponse, OCSPResponseStatus } from '@peculiar/asn1-ocsp';
import { AsnConvert } from '@peculiar/asn1-schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSelfSignedCa } from '../../src/pki/ca.ts';
import { getCertificate, normaliseSerial } from '../../src/pki/inventory.ts';
import { MAX_OCSP_REQUEST_BYTES } from '../../src/pki/revocation/ocsp-request.ts';
import { revokeCertificate } from '../../src/pki/revocation/revoke.ts';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { auditEntries, httpsBytes, OPENSSL, openssl, opensslOcsp, runPeer } from './support.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A date as OpenSSL prints ASN.1 times: "Nov  4 23:47:06 2026 GMT". */
function opensslTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, ' ')} ${two(date.getUTCHours())}:${two(
    date.getUTCMinutes(),
  )}:${two(date.getUTCSeconds())} ${date.getUTCFullYear()} GMT`;
}

function ocspStatus(body: Buffer): number {
  return AsnConvert.parse(body, OCSPResponse).responseStatus;
}

for (const engine of engines()) {
  describe(`CRL and OCSP on ${engine.name}`, () => {
    let t: TestGateway;
    let ocspUrl: string;
    const device = (id: string) => join(t.dataDir, 'pki', 'devices', id, 'cert.pem');
    const serialOf = (path: string) => normaliseSerial(new X509Certificate(readFileSync(path)).serialNumber);
    const deps = () => ({ store: t.gateway.store, audit: t.gateway.audit, now: () => new Date() });

    beforeAll(async () => {
      t = await startTestGateway(engine);
      ocspUrl = `${t.url.public}/ocsp`;
    });
    afterAll(async () => t?.stop());

    it('publishes a signed v2 CRL with its number and AKI, over HTTPS and in DIR/pki', async () => {
      const der = await httpsBytes(`${t.url.public}/pki/crl`, { ca: t.vehicle('TRK-001').ca });
      expect(der.status).toBe(200);
      expect(der.headers['content-type']).toBe('application/pkix-crl');
      const pem = await httpsBytes(`${t.url.public}/pki/crl.pem`, { ca: t.vehicle('TRK-001').ca });
      expect(pem.body.toString()).toMatch(/^-----BEGIN X509 CRL-----\n/);
      expect(readFileSync(join(t.dataDir, 'pki', 'crl.der'))).toEqual(der.body);
      expect(readFileSync(join(t.dataDir, 'pki', 'crl.pem'), 'utf8')).toBe(pem.body.toString());

      const path = join(t.dataDir, 'pki', 'crl.pem');
      const shown = openssl(['crl', '-in', path, '-noout', '-text']);
      expect(shown.status).toBe(0);
      expect(shown.stdout).toMatch(/Version 2 \(0x1\)/);
      expect(shown.stdout).toMatch(/X509v3 CRL Number:\s*\n\s*\d+/);
      expect(shown.stdout).toMatch(/X509v3 Authority Key Identifier:/);
      expect(shown.stdout).toMatch(/Issuer: O = fleetgate, CN = fleetgate Intermediate CA/);
      expect(shown.stdout).toMatch(/No Revoked Certificates/);
      const verified = openssl(['crl', '-in', path, '-CAfile', t.caPath, '-noout']);
      expect(verified.stderr + verified.stdout).toMatch(/verify OK/);

      // The delegated responder: its own key (0600), OCSP Signing and OCSP No Check.
      expect(statSync(join(t.dataDir, 'pki', 'ocsp', 'key.pem')).mode & 0o777).toBe(0o600);
      const responder = openssl([
        'x509',
        '-in',
        join(t.dataDir, 'pki', 'ocsp', 'cert.pem'),
        '-noout',
        '-text',
      ]);
      expect(responder.stdout).toMatch(/X509v3 Extended Key Usage:\s*\n\s*OCSP Signing/);
      expect(responder.stdout).toMatch(/OCSP No Check/);
    });

    it('answers good, then revoked with reason and time; the CRL lists the serial and openssl refuses the leaf', async () => {
      const cert = device('TRK-001');
      const before = await opensslOcsp(t.dataDir, ocspUrl, cert);
      expect(before.out).toMatch(/Response verify OK/);
      expect(before.out).toMatch(/TRK-001\/cert\.pem: good/);
      const crlBefore = openssl(['crl', '-in', join(t.dataDir, 'pki', 'crl.pem'), '-noout', '-crlnumber']);

      const serial = serialOf(cert);
      const result = await revokeCertificate(deps(), {
        serialNumber: serial.toUpperCase(),
        reason: 'keyCompromise',
        actor: { kind: 'operator', id: 'alice' },
      });
      expect(result.alreadyRevoked).toBe(false);

      const after = await opensslOcsp(t.dataDir, ocspUrl, cert, ['-resp_text']);
      expect(after.out).toMatch(/Response verify OK/);
      expect(after.out).toMatch(/TRK-001\/cert\.pem: revoked/);
      expect(after.out).toMatch(/Reason: keyCompromise/);
      expect(after.out).toContain(`Revocation Time: ${opensslTime(result.revokedAt)}`);
      expect(after.out).toMatch(/Cert Status: revoked/);
      expect(after.out).toMatch(/Revocation Reason: keyCompromise \(0x1\)/);
      expect(after.out).toMatch(/Response Extensions:\s*\n\s*OCSP Nonce:/);
      expect((await opensslOcsp(t.dataDir, ocspUrl, device('TRK-002'))).out).toMatch(
        /TRK-002\/cert\.pem: good/,
      );

      // The CRL was reissued before revokeCertificate returned.
      const crlPath = join(t.dataDir, 'pki', 'crl.pem');
      const listed = openssl(['crl', '-in', crlPath, '-noout', '-text']);
      expect(listed.stdout).toContain(`Serial Number: ${serial.toUpperCase()}`);
      expect(listed.stdout).toMatch(/CRL Reason Code:\s*\n\s*Key Compromise/);
      const crlAfter = openssl(['crl', '-in', crlPath, '-noout', '-crlnumber']);
      const number = (s: string) => BigInt(`0x${/crlNumber=(?:0x)?([0-9A-Fa-f]+)/.exec(s)?.[1] ?? '0'}`);
      expect(number(crlAfter.stdout)).toBeGreaterThan(number(crlBefore.stdout));

      const refused = openssl(['verify', '-crl_check', '-CRLfile', crlPath, '-CAfile', t.caPath, cert]);
      expect(refused.status).not.toBe(0);
      expect(refused.stdout + refused.stderr).toMatch(/certificate revoked/);
      const fine = openssl([
        'verify',
        '-crl_check',
        '-CRLfile',
        crlPath,
        '-CAfile',
        t.caPath,
        device('TRK-002'),
      ]);
      expect(fine.status).toBe(0);

      // One audit entry, with the certificate's thumbprint; the CRL issuance is audited too.
      const entry = await getCertificate(t.gateway.store, serial);
      const revoked = await auditEntries(t.gateway.store, 'pki.certificate.revoked');
      expect(revoked).toHaveLength(1);
      expect(revoked[0]?.entry).toMatchObject({
        actor: { kind: 'operator', id: 'alice' },
        subject: { kind: 'certificate', id: serial },
        reasons: ['keyCompromise'],
        details: { certSha256: entry?.thumbprintSha256, subjectId: 'TRK-001', certificateKind: 'vehicle' },
      });
      expect((await auditEntries(t.gateway.store, 'pki.crl.issued')).length).toBeGreaterThanOrEqual(2);
      expect(entry).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });

      // Idempotent: the first time and reason stand, nothing new is audited.
      const again = await revokeCertificate(deps(), {
        serialNumber: serial,
        reason: 'superseded',
        actor: { kind: 'operator', id: 'bob' },
      });
      expect(again).toEqual({ revokedAt: result.revokedAt, alreadyRevoked: true });
      expect(await auditEntries(t.gateway.store, 'pki.certificate.revoked')).toHaveLength(1);
    });

    it('refuses to revoke a CA, an unknown serial, a bad serial or reason', async () => {
      const intermediate = serialOf(join(t.dataDir, 'pki', 'intermediate', 'cert.pem'));
      const actor = { kind: 'operator' as const, id: 'alice' };
      await expect(
        revokeCertificate(deps(), { serialNumber: intermediate, reason: 'cACompromise', actor }),
      ).rejects.toMatchObject({ code: 'PKI_INVALID_ARGUMENT' });
      await expect(
        revokeCertificate(deps(), { serialNumber: '0abc', reason: 'superseded', actor }),
      ).rejects.toMatchObject({ code: 'PKI_INVALID_ARGUMENT' });
      await expect(
        revokeCertificate(deps(), {
          serialNumber: "01'; DROP TABLE certificates; --",
          reason: 'superseded',
          actor,
        }),
      ).rejects.toMatchObject({ code: 'PKI_INVALID_ARGUMENT' });
      await expect(
        revokeCertificate(deps(), {
          serialNumber: serialOf(device('TRK-003')),
          reason: 'certificateHold' as 'superseded',
          actor,
        }),
      ).rejects.toMatchObject({ code: 'PKI_INVALID_ARGUMENT' });
      expect((await getCertificate(t.gateway.store, serialOf(device('TRK-003'))))?.status).toBe('active');
    });

    it('answers unknown for a serial it never issued, unauthorized for another CA, and the GET form', async () => {
      const unknown = await runPeer(OPENSSL, [
        'ocsp',
        '-issuer',
        join(t.dataDir, 'pki', 'intermediate', 'cert.pem'),
        '-serial',
        '0x0123456789abcdef',
        '-url',
        ocspUrl,
        '-CAfile',
        t.caPath,
      ]);
      expect(unknown.out).toMatch(/0x0123456789abcdef: unknown/i);

      const foreign = await createSelfSignedCa({ commonName: 'Foreign CA' });
      const foreignPath = join(t.dataDir, 'foreign-ca.pem');
      writeFileSync(foreignPath, foreign.certificate.toString());
      const other = await runPeer(OPENSSL, [
        'ocsp',
        '-issuer',
        foreignPath,
        '-serial',
        '0x01',
        '-url',
        ocspUrl,
        '-CAfile',
        t.caPath,
      ]);
      expect(other.out).toMatch(/Responder Error: unauthorized \(6\)/);

      // GET /ocsp/{url-encoded base64 of the DER request} (RFC 6960 Appendix A.1).
      const reqPath = join(t.dataDir, 'ocsp-req.der');
      const made = openssl([
        'ocsp',
        '-issuer',
        join(t.dataDir, 'pki', 'intermediate', 'cert.pem'),
        '-cert',
        device('TRK-002'),
        '-no_nonce', // GET requests are the cacheable form (RFC 5019 §5): no nonce
        '-reqout',
        reqPath,
      ]);
      expect(made.status).toBe(0);
      const encoded = encodeURIComponent(readFileSync(reqPath).toString('base64'));
      const got = await httpsBytes(`${t.url.public}/ocsp/${encoded}`, { ca: readFileSync(t.caPath, 'utf8') });
      expect(got.status).toBe(200);
      expect(got.headers['content-type']).toBe('application/ocsp-response');
      const respPath = join(t.dataDir, 'ocsp-resp.der');
      writeFileSync(respPath, got.body);
      const read = openssl([
        'ocsp',
        '-no_nonce',
        '-respin',
        respPath,
        '-issuer',
        join(t.dataDir, 'pki', 'intermediate', 'cert.pem'),
        '-cert',
        device('TRK-002'),
        '-CAfile',
        t.caPath,
      ]);
      expect(read.stdout + read.stderr).toMatch(/Response verify OK/);
      expect(read.stdout).toMatch(/TRK-002\/cert\.pem: good/);
    });

    it('answers malformed requests with malformedRequest and keeps serving', async () => {
      const ca = readFileSync(t.caPath, 'utf8');
      const post = (body: Uint8Array) =>
        httpsBytes(ocspUrl, { ca, method: 'POST', body, contentType: 'application/ocsp-request' });
      const bodies = [
        new Uint8Array(),
        new Uint8Array([0x30]),
        new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
        new Uint8Array([0x30, 0x80, 0x00, 0x00]), // indefinite length
        new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05]), // a SEQUENCE, not an OCSPRequest
        new Uint8Array(MAX_OCSP_REQUEST_BYTES + 1).fill(0x30),
        Buffer.from('not DER at all'),
      ];
      for (const body of bodies) {
        const res = await post(body);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe('application/ocsp-response');
        expect(ocspStatus(res.body)).toBe(OCSPResponseStatus.malformedRequest);
      }
      for (const path of ['!!!', '%E0%A4%A', 'AAAA', `${'A'.repeat(40_000)}`]) {
        const res = await httpsBytes(`${t.url.public}/ocsp/${path}`, { ca });
        if (res.status === 200) expect(ocspStatus(res.body)).toBe(OCSPResponseStatus.malformedRequest);
        else expect(res.status).toBeGreaterThanOrEqual(400); // a URL over the header limit never reaches us
      }
      const wrongType = await httpsBytes(ocspUrl, {
        ca,
        method: 'POST',
        body: new Uint8Array([1]),
        contentType: 'text/plain',
      });
      expect(wrongType.status).toBe(415);
      expect((await httpsBytes(`${t.url.public}/pki/crl`, { ca })).status).toBe(200);
    });
  });
}
