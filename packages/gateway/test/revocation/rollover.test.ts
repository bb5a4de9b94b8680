/**
 * Revocation across a CA rollover (docs/pki.md "CA rollover"): while two hierarchies overlap, the
 * running gateway — without a restart — publishes a CRL per live intermediate (DIR/pki/crl.pem and
 * GET /pki/crl.pem hold both, the issuing one first) and answers OCSP for certificates of either, each
 * with its own delegated responder. A device certificate of the previous hierarchy is revoked on the
 * previous intermediate's CRL, which `openssl verify -crl_check` and `openssl ocsp` honour. On every
 * store engine.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIssuingCa } from '../../src/pki/ca.ts';
import { normaliseSerial, recordCertificate } from '../../src/pki/inventory.ts';
import { issueDeviceCertificate } from '../../src/pki/issue.ts';
import { revokeCertificate } from '../../src/pki/revocation/revoke.ts';
import { beginRollover } from '../../src/pki/rollover/begin.ts';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { eventually, httpsBytes, OPENSSL, openssl, runPeer } from './support.ts';

const crlBlocks = (pem: string): string[] =>
  pem.match(/-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----\n/g) ?? [];

for (const engine of engines()) {
  describe(`revocation across a CA rollover on ${engine.name}`, () => {
    let t: TestGateway;
    let pki: string;
    const crlText = (pem: string) => openssl(['crl', '-noout', '-text'], pem).stdout;
    const ocsp = (issuer: string, cert: string) =>
      runPeer(OPENSSL, [
        'ocsp',
        '-issuer',
        issuer,
        '-cert',
        cert,
        '-url',
        `${t.url.public}/ocsp`,
        '-CAfile',
        join(pki, 'ca.pem'),
        '-resp_text',
      ]);

    beforeAll(async () => {
      t = await startTestGateway(engine);
      pki = join(t.dataDir, 'pki');
    });
    afterAll(async () => t?.stop());

    it('publishes a CRL per live intermediate and revokes on the previous one', async () => {
      await beginRollover(t.dataDir, { keys: t.gateway.config.keys, env: {} });
      const ca = readFileSync(join(pki, 'ca.pem'), 'utf8');
      const blocks = await eventually(
        async () => {
          const res = await httpsBytes(`${t.url.public}/pki/crl.pem`, { ca });
          const found = crlBlocks(res.body.toString());
          return found.length === 2 && found;
        },
        15_000,
        'the gateway publishes a CRL for each intermediate of the overlap',
      );
      expect(crlText(blocks[0] ?? '')).toMatch(/Issuer: O = fleetgate, CN = fleetgate Intermediate CA G2/);
      expect(crlText(blocks[1] ?? '')).toMatch(/Issuer: O = fleetgate, CN = fleetgate Intermediate CA\n/);

      // TRK-001's certificate comes from the previous hierarchy.
      const oldCert = join(pki, 'devices', 'TRK-001', 'cert.pem');
      const serial = normaliseSerial(new X509Certificate(readFileSync(oldCert)).serialNumber);
      await revokeCertificate(
        { store: t.gateway.store, audit: t.gateway.audit, now: () => new Date() },
        { serialNumber: serial, reason: 'keyCompromise', actor: { kind: 'operator', id: 'alice' } },
      );
      const onDisk = crlBlocks(readFileSync(join(pki, 'crl.pem'), 'utf8'));
      expect(onDisk).toHaveLength(2);
      expect(crlText(onDisk[1] ?? '')).toContain(`Serial Number: ${serial.toUpperCase()}`);
      expect(crlText(onDisk[0] ?? '')).not.toContain(serial.toUpperCase());
      const crlFile = join(pki, 'crl.pem');
      const refused = openssl([
        'verify',
        '-crl_check',
        '-CRLfile',
        crlFile,
        '-CAfile',
        join(pki, 'ca.pem'),
        oldCert,
      ]);
      expect(refused.stdout + refused.stderr).toMatch(/certificate revoked/);

      const previousIssuer = join(pki, 'previous', 'intermediate', 'cert.pem');
      const answer = await ocsp(previousIssuer, oldCert);
      expect(answer.out).toMatch(/Response verify OK/);
      expect(answer.out).toMatch(/TRK-001\/cert\.pem: revoked/);
      expect(answer.out).toMatch(/Reason: keyCompromise/);
    });

    it('answers OCSP for a certificate of the new intermediate with its own responder', async () => {
      const issuing = await loadIssuingCa(t.dataDir);
      const { publicKey } = generateKeyPairSync('ed25519');
      const issued = await issueDeviceCertificate(issuing, { vehicleId: 'TRK-NEW', publicKey });
      await recordCertificate(t.gateway.store, issued.certificate, {
        kind: 'vehicle',
        subjectId: 'TRK-NEW',
        issuer: issuing.certificate,
      });
      const certPath = join(t.dataDir, 'trk-new.pem');
      writeFileSync(certPath, issued.certificatePem);
      const answer = await ocsp(join(pki, 'intermediate', 'cert.pem'), certPath);
      expect(answer.out).toMatch(/Response verify OK/);
      expect(answer.out).toMatch(/trk-new\.pem: good/);
      // Each intermediate certified its own responder.
      const responders = ['ocsp/cert.pem', 'ocsp/previous/cert.pem'].map(
        (p) => new X509Certificate(readFileSync(join(pki, p))),
      );
      expect(responders[0]?.issuer).toMatch(/Intermediate CA G2/);
      expect(responders[1]?.issuer).not.toMatch(/G2/);
    });
  });
}
