/**
 * Name constraints on issuing intermediates (RFC 5280 §4.2.1.10) and per-tenant issuing CAs
 * (docs/pki.md "Hierarchy"). The real `openssl verify` accepts our leaves under a constrained
 * intermediate and refuses a rogue server certificate for evil.example signed with that intermediate's
 * own key; validatePath refuses it too. With `pki.tenantIssuingCas: ['acme']`, a vehicle registered to
 * acme and enrolled over EST (real openssl + curl) gets an acme-issued certificate, sends telemetry,
 * and its revocation appears on the acme CA's CRL; another tenant's vehicle keeps the default
 * intermediate. On every store engine.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIssuingCa } from '../../src/pki/ca.ts';
import { createBootstrapToken } from '../../src/pki/enrollment/create-token.ts';
import { getCertificate } from '../../src/pki/inventory.ts';
import { issueDeviceCertificate, issueServerCertificate } from '../../src/pki/issue.ts';
import { validatePath } from '../../src/pki/path/validate.ts';
import { revokeCertificate } from '../../src/pki/revocation/revoke.ts';
import { beginRollover } from '../../src/pki/rollover/begin.ts';
import { loadTenantIssuingCa } from '../../src/pki/tenants/tenant-ca.ts';
import {
  csr,
  curl,
  genKey,
  mustOpenssl,
  openssl,
  pkcs7Certificates,
  Workdir,
} from '../enrollment/support.ts';
import { engines } from '../support/engines.ts';
import { batchBytes, envelopeBytes, signerFromPem } from '../support/envelopes.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

for (const engine of engines()) {
  describe(`issuing CAs: name constraints and per-tenant CAs on ${engine.name}`, () => {
    let t: TestGateway;
    let w: Workdir;
    const now = () => new Date();
    const deps = () => ({ store: t.gateway.store, audit: t.gateway.audit, now });

    beforeAll(async () => {
      w = new Workdir();
      t = await startTestGateway(engine, (config) => {
        config.pki.tenantIssuingCas = ['acme'];
      });
    });
    afterAll(async () => {
      await t?.stop();
      w?.cleanup();
    });

    it('gives every new issuing intermediate critical dNSName/iPAddress constraints and no URI constraint', () => {
      for (const dir of ['intermediate', join('tenants', 'acme')]) {
        const text = mustOpenssl(['x509', '-noout', '-text', '-in', join(t.dataDir, 'pki', dir, 'cert.pem')]);
        expect(text).toMatch(/X509v3 Name Constraints: critical/);
        expect(text).toMatch(/DNS:localhost/);
        expect(text).toMatch(/IP:127\.0\.0\.0\/255\.0\.0\.0/);
        expect(text).toMatch(/IP:0:0:0:0:0:0:0:1\/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF/i);
        expect(text).not.toMatch(/URI:/);
      }
    });

    it('openssl verify accepts our leaves and refuses a rogue evil.example server certificate', async () => {
      const server = join(t.dataDir, 'pki', 'server', 'chain.pem');
      mustOpenssl(['verify', '-CAfile', t.caPath, '-purpose', 'sslserver', server]);
      mustOpenssl([
        'verify',
        '-CAfile',
        t.caPath,
        '-purpose',
        'sslclient',
        join(t.dataDir, 'pki', 'devices', 'TRK-001', 'chain.pem'),
      ]);

      const root = new X509Certificate(readFileSync(join(t.dataDir, 'pki', 'root', 'cert.pem')));
      for (const ca of [await loadIssuingCa(t.dataDir), await loadTenantIssuingCa(t.dataDir, 'acme')]) {
        if (ca === undefined) throw new Error('tenant CA missing');
        // A device certificate (URI SAN urn:fleetgate:…) is unaffected by the constraints.
        const device = await issueDeviceCertificate(ca, {
          vehicleId: 'TRK-900',
          publicKey: generateKeyPairSync('ed25519').publicKey,
        });
        mustOpenssl([
          'verify',
          '-CAfile',
          t.caPath,
          '-purpose',
          'sslclient',
          w.write('dev.pem', device.chainPem),
        ]);
        const rogue = await issueServerCertificate(ca, {
          publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
          dnsNames: ['evil.example'],
          ipAddresses: [],
        });
        const refused = openssl([
          'verify',
          '-CAfile',
          t.caPath,
          '-purpose',
          'sslserver',
          w.write('rogue.pem', rogue.chainPem),
        ]);
        expect(refused.code).not.toBe(0);
        expect(refused.out).toMatch(/name constraint|permitted subtree/i);
        const result = validatePath({
          chain: [new Uint8Array(rogue.certificate.raw), new Uint8Array(ca.certificate.raw)],
          trustAnchors: [root],
          time: now(),
          purpose: 'serverAuth',
        });
        expect(result.ok ? 'ok' : result.code).toBe('PATH_NAME_CONSTRAINTS');
        const good = validatePath({
          chain: [new Uint8Array(device.certificate.raw), new Uint8Array(ca.certificate.raw)],
          trustAnchors: [root],
          time: now(),
          purpose: 'clientAuth',
        });
        expect(good.ok).toBe(true);
      }
    });

    it('puts the tenant CA in ca.pem and in the inventory', async () => {
      const acme = new X509Certificate(readFileSync(join(t.dataDir, 'pki', 'tenants', 'acme', 'cert.pem')));
      const bundle = (readFileSync(t.caPath, 'utf8').match(PEM) ?? []).map((p) => new X509Certificate(p));
      expect(bundle.map((c) => c.fingerprint256)).toContain(acme.fingerprint256);
      const entry = await getCertificate(t.gateway.store, acme.serialNumber.toLowerCase());
      expect(entry).toMatchObject({ kind: 'ca', subjectId: 'intermediate:acme' });
    });

    const enroll = async (vehicleId: string, tenant: string) => {
      const created = await createBootstrapToken(deps(), {
        vehicleId,
        tenant,
        ttlSeconds: 3600,
        actor: { kind: 'operator', id: 'test' },
      });
      const key = genKey(w, 'ed25519');
      const r = await curl(w, `${t.url.public}/.well-known/est/simpleenroll`, {
        ca: t.caPath,
        data: csr(w, key, `/CN=${vehicleId}`),
        bearer: created.token,
      });
      expect(r.status).toBe(200);
      const certs = pkcs7Certificates(w, r.body).map((p) => new X509Certificate(p));
      const leaf = certs.find((c) => !c.ca);
      if (leaf === undefined) throw new Error('no leaf');
      const chain = w.write(
        `${vehicleId}.chain.pem`,
        [leaf, ...certs.filter((c) => c !== leaf)].map((c) => c.toString()).join(''),
      );
      return { key, leaf, chain };
    };

    it('issues an acme vehicle from the acme CA: telemetry works, its revocation is on the acme CRL', async () => {
      const acme = new X509Certificate(readFileSync(join(t.dataDir, 'pki', 'tenants', 'acme', 'cert.pem')));
      const { key, leaf, chain } = await enroll('TRK-201', 'acme');
      expect(leaf.checkIssued(acme) && leaf.verify(acme.publicKey)).toBe(true);
      mustOpenssl(['verify', '-CAfile', t.caPath, '-purpose', 'sslclient', chain]);

      const envelope = w.write(
        'telemetry.bin',
        envelopeBytes(
          signerFromPem(readFileSync(key, 'utf8')),
          1n,
          batchBytes('TRK-201', { sentAt: Date.now() }),
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

      await revokeCertificate(deps(), {
        serialNumber: leaf.serialNumber,
        reason: 'keyCompromise',
        actor: { kind: 'operator', id: 'test' },
      });
      const r = await curl(w, `${t.url.public}/pki/crl.pem`, { ca: t.caPath });
      expect(r.status).toBe(200);
      const crls = r.body.match(/-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g) ?? [];
      const texts = crls.map((crl) =>
        mustOpenssl(['crl', '-noout', '-text', '-in', w.write('one.crl.pem', crl)]),
      );
      const acmeCrl = texts.find((x) => /Issuer: O ?= ?fleetgate, CN ?= ?fleetgate Issuing CA acme/.test(x));
      expect(acmeCrl).toBeDefined();
      expect(acmeCrl?.toUpperCase()).toContain(leaf.serialNumber.toUpperCase().replace(/^0+/, ''));
      // The acme CRL verifies under the acme CA (openssl crl -CAfile).
      const acmeCrlPem = crls[texts.indexOf(acmeCrl ?? '')] ?? '';
      const verified = openssl([
        'crl',
        '-noout',
        '-CAfile',
        t.caPath,
        '-in',
        w.write('acme.crl.pem', acmeCrlPem),
      ]);
      expect(verified.code).toBe(0);
      expect(verified.out).toMatch(/verify OK/);
    });

    it('keeps the default intermediate for a vehicle of another tenant', async () => {
      const intermediate = new X509Certificate(
        readFileSync(join(t.dataDir, 'pki', 'intermediate', 'cert.pem')),
      );
      const { leaf } = await enroll('TRK-202', 'globex');
      expect(leaf.checkIssued(intermediate) && leaf.verify(intermediate.publicKey)).toBe(true);
    });

    it('refuses a CA rollover while tenant issuing CAs exist, instead of dropping them from the bundle', async () => {
      const before = readFileSync(join(t.dataDir, 'pki', 'ca.pem'), 'utf8');
      await expect(beginRollover(t.dataDir, { keys: t.gateway.config.keys })).rejects.toMatchObject({
        code: 'PKI_STATE_CONFLICT',
      });
      expect(readFileSync(join(t.dataDir, 'pki', 'ca.pem'), 'utf8')).toBe(before);
    });
  });
}
