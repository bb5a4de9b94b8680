/**
 * EST simpleenroll authorised by a manufacturer certificate (an IDevID made here with the real openssl
 * from a manufacturer CA configured in `enrollment.manufacturerCaFile`), presented by the real curl in
 * the TLS handshake of the public listener. Only fleet vehicles, only certificates chaining to the
 * configured CA with clientAuth, and only requests naming the certificate's vehicle are accepted.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import {
  auditEntries,
  csr,
  curl,
  genKey,
  mustOpenssl,
  pkcs7Certificates,
  problemCode,
  Workdir,
} from './support.ts';

function makeCa(w: Workdir, name: string): { cert: string; key: string } {
  const key = genKey(w, 'p256');
  const cert = w.path(`${name}.pem`);
  mustOpenssl([
    'req',
    '-x509',
    '-key',
    key,
    '-subj',
    `/O=Acme Trucks/CN=${name}`,
    '-days',
    '2',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    cert,
  ]);
  return { cert, key };
}

/** A manufacturer intermediate CA under `root` (pathLen 0). */
function makeIntermediate(w: Workdir, root: { cert: string; key: string }): { cert: string; key: string } {
  const key = genKey(w, 'p256');
  const request = w.fresh('.csr.pem');
  mustOpenssl(['req', '-new', '-key', key, '-subj', '/O=Acme Trucks/CN=Acme Plant 7 CA', '-out', request]);
  const ext = w.write(
    'intermediate.ext',
    'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n',
  );
  const cert = w.path('intermediate.pem');
  mustOpenssl([
    'x509',
    '-req',
    '-in',
    request,
    '-CA',
    root.cert,
    '-CAkey',
    root.key,
    '-set_serial',
    '0x77',
    '-days',
    '2',
    '-extfile',
    ext,
    '-out',
    cert,
  ]);
  return { cert, key };
}

/** An IDevID-style certificate naming a vehicle in a SAN URI. */
function makeDeviceId(
  w: Workdir,
  ca: { cert: string; key: string },
  vehicleId: string,
  eku = 'clientAuth',
): { cert: string; key: string } {
  const key = genKey(w, 'p256');
  const request = w.fresh('.csr.pem');
  mustOpenssl(['req', '-new', '-key', key, '-subj', `/CN=${vehicleId}`, '-out', request]);
  const ext = w.write(
    `${vehicleId}-${eku}.ext`,
    `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=${eku}\n` +
      `subjectAltName=URI:urn:fleetgate:vehicle:${vehicleId}\n`,
  );
  const cert = w.fresh('.idevid.pem');
  mustOpenssl([
    'x509',
    '-req',
    '-in',
    request,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-set_serial',
    `0x${Date.now().toString(16)}${Math.floor(Math.random() * 1e6).toString(16)}`,
    '-days',
    '1',
    '-extfile',
    ext,
    '-out',
    cert,
  ]);
  return { cert, key };
}

for (const engine of engines()) {
  describe(`EST manufacturer-certificate enrollment on ${engine.name}`, () => {
    let t: TestGateway;
    let w: Workdir;
    let manufacturer: { cert: string; key: string };
    let rogue: { cert: string; key: string };
    const enroll = (body: string, id: { cert: string; key: string }) =>
      curl(w, `${t.url.public}/.well-known/est/simpleenroll`, { ca: t.caPath, data: body, ...id });

    beforeAll(async () => {
      w = new Workdir();
      manufacturer = makeCa(w, 'Acme Manufacturing CA');
      rogue = makeCa(w, 'Rogue CA');
      t = await startTestGateway(engine, (config) => {
        config.enrollment.manufacturerCaFile = manufacturer.cert;
      });
    });
    afterAll(async () => {
      await t?.stop();
      w?.cleanup();
    });

    it('enrolls a fleet vehicle that presents its manufacturer certificate', async () => {
      const idevid = makeDeviceId(w, manufacturer, 'TRK-002');
      const r = await enroll(csr(w, genKey(w, 'ed25519'), '/CN=TRK-002'), idevid);
      expect(r.status).toBe(200);
      const leaf = pkcs7Certificates(w, r.body)
        .map((p) => new X509Certificate(p))
        .find((c) => !c.ca);
      expect(leaf?.subjectAltName).toBe('URI:urn:fleetgate:vehicle:TRK-002');
      const issued = (await auditEntries(t.gateway.store, 'pki.certificate.issued')).at(-1);
      const idevidSha256 = new X509Certificate(w.read(idevid.cert)).fingerprint256
        .replaceAll(':', '')
        .toLowerCase();
      expect(issued).toMatchObject({
        actor: { kind: 'vehicle', id: 'TRK-002', certSha256: idevidSha256 },
        details: { method: 'manufacturer' },
      });
    });

    it('follows a chain through a manufacturer intermediate the client sends', async () => {
      const intermediate = makeIntermediate(w, manufacturer);
      const idevid = makeDeviceId(w, intermediate, 'TRK-003');
      const chain = w.write('idevid-chain.pem', w.read(idevid.cert) + w.read(intermediate.cert));
      const r = await enroll(csr(w, genKey(w, 'ed25519'), '/CN=TRK-003'), { cert: chain, key: idevid.key });
      expect(r.status).toBe(200);
      // The leaf alone does not chain to the configured root.
      const alone = await enroll(csr(w, genKey(w, 'ed25519'), '/CN=TRK-003'), idevid);
      expect([alone.status, problemCode(alone)]).toEqual([403, 'EST_MANUFACTURER_CERT_INVALID']);
    });

    it('refuses vehicles outside the fleet, foreign CAs, wrong usages and other names', async () => {
      const cases: Array<[string, { cert: string; key: string }, string, string]> = [
        [
          'not in fleet.vehicles',
          makeDeviceId(w, manufacturer, 'TRK-UNLISTED'),
          'TRK-UNLISTED',
          'EST_VEHICLE_NOT_IN_FLEET',
        ],
        ['a foreign CA', makeDeviceId(w, rogue, 'TRK-003'), 'TRK-003', 'EST_MANUFACTURER_CERT_INVALID'],
        [
          'serverAuth only',
          makeDeviceId(w, manufacturer, 'TRK-003', 'serverAuth'),
          'TRK-003',
          'EST_MANUFACTURER_CERT_INVALID',
        ],
        [
          'another vehicle in the request',
          makeDeviceId(w, manufacturer, 'TRK-003'),
          'TRK-001',
          'EST_CSR_IDENTITY_MISMATCH',
        ],
      ];
      for (const [name, id, cn, code] of cases) {
        const r = await enroll(csr(w, genKey(w, 'ed25519'), `/CN=${cn}`), id);
        expect({ name, code: problemCode(r), status: r.status }).toEqual({ name, code, status: 403 });
      }
      const refused = (await auditEntries(t.gateway.store, 'pki.enrollment.refused')).slice(-cases.length);
      expect(refused.map((e) => (e.reasons as string[])[0])).toEqual(cases.map((c) => c[3]));
    });
  });
}
