/**
 * Rotation over EST simplereenroll with the real curl and openssl: a vehicle renews over its current
 * mTLS identity with a fresh key; old and new certificates both work during the overlap; the rotation
 * job then revokes the old one (superseded, replaced_by set) through revokeCertificate; key reuse,
 * another vehicle's name, a missing, foreign or partner certificate and a second rotation are refused
 * with codes; a lost response is recovered by sending the same request again. The mean-time-to-rotation
 * metric is on the ops listener. On every store engine.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
  newToken,
  pkcs7Certificates,
  problemCode,
  Workdir,
} from './support.ts';

interface Device {
  key: string;
  chain: string;
  serial: string;
}

const GRACE_SECONDS = 3600;

for (const engine of engines()) {
  describe(`EST simplereenroll and rotation on ${engine.name}`, () => {
    let t: TestGateway;
    let w: Workdir;
    let offsetMs = 0;
    let counter = 0n;
    const now = () => new Date(Date.now() + offsetMs);
    const est = (path: string, body: string, auth: { bearer?: string; cert?: string; key?: string }) =>
      curl(w, `${t.url.public}/.well-known/est/${path}`, { ca: t.caPath, data: body, ...auth });
    const device = (r: { status: number; body: string }, key: string): Device => {
      expect(r.status).toBe(200);
      const certs = pkcs7Certificates(w, r.body).map((p) => new X509Certificate(p));
      const leaf = certs.find((c) => !c.ca);
      if (leaf === undefined) throw new Error('no leaf');
      const chain = w.write(
        `${leaf.serialNumber}.chain.pem`,
        [leaf, ...certs.filter((c) => c !== leaf)].map((c) => c.toString()).join(''),
      );
      return { key, chain, serial: leaf.serialNumber.toLowerCase() };
    };
    const telemetry = async (d: Device, vehicleId: string) => {
      counter += 1n;
      const body = w.write(
        `env-${counter}.bin`,
        envelopeBytes(
          signerFromPem(readFileSync(d.key, 'utf8')),
          counter,
          batchBytes(vehicleId, { sentAt: now().getTime() }),
        ),
      );
      try {
        return await curl(w, `${t.url.telemetry}/v1/telemetry`, {
          ca: t.caPath,
          data: body,
          contentType: 'application/x-protobuf',
          cert: d.chain,
          key: d.key,
        });
      } catch {
        return { status: 0, body: '', headers: '' }; // the handshake was refused
      }
    };
    const metrics = async (): Promise<string> => (await fetch(`${t.url.ops}/metrics`)).text();

    let a: Device;
    let b: Device;
    let bCsr: string;

    beforeAll(async () => {
      w = new Workdir();
      t = await startTestGateway(
        engine,
        (config) => {
          config.rotation.graceSeconds = GRACE_SECONDS;
          config.rotation.checkIntervalSeconds = 1;
        },
        now,
      );
      const key = genKey(w, 'ed25519');
      const token = await newToken({ store: t.gateway.store, audit: t.gateway.audit, now }, 'TRK-201');
      a = device(await est('simpleenroll', csr(w, key, '/CN=TRK-201'), { bearer: token }), key);
    });
    afterAll(async () => {
      await t?.stop();
      w?.cleanup();
    });

    it('renews over the current mTLS identity with a new key; both certificates work during the overlap', async () => {
      const keyB = genKey(w, 'ed25519');
      bCsr = csr(w, keyB, '/CN=TRK-201');
      b = device(await est('simplereenroll', bCsr, { cert: a.chain, key: a.key }), keyB);
      expect(b.serial).not.toBe(a.serial);
      const old = await getCertificate(t.gateway.store, a.serial);
      expect(old).toMatchObject({ status: 'active', replacedBy: b.serial });
      const [rotation] = await t.gateway.store.query<{ successor_serial: string; revoke_after: Date }>(
        'SELECT successor_serial, revoke_after FROM certificate_rotations WHERE serial_number = $1',
        [a.serial],
      );
      expect(rotation?.successor_serial).toBe(b.serial);
      expect(rotation?.revoke_after.getTime()).toBeGreaterThan(now().getTime() + (GRACE_SECONDS - 60) * 1000);
      const issued = (await auditEntries(t.gateway.store, 'pki.certificate.issued')).at(-1);
      expect(issued).toMatchObject({
        actor: { kind: 'vehicle', id: 'TRK-201' },
        details: { method: 'reenroll', replaces: [a.serial] },
      });
      expect((await telemetry(a, 'TRK-201')).status).toBe(202);
      expect((await telemetry(b, 'TRK-201')).status).toBe(202);
      const text = await metrics();
      expect(text).toMatch(/fleetgate_certificate_rotation_seconds_count\{forced="false"\} 1/);
      expect(text).toMatch(/^fleetgate_certificate_mean_time_to_rotation_seconds \d/m);
    });

    it('sends the same successor again for a repeated request, and refuses a second rotation', async () => {
      const again = device(await est('simplereenroll', bCsr, { cert: a.chain, key: a.key }), b.key);
      expect(again.serial).toBe(b.serial);
      const other = await est('simplereenroll', csr(w, genKey(w, 'ed25519'), '/CN=TRK-201'), {
        cert: a.chain,
        key: a.key,
      });
      expect([other.status, problemCode(other)]).toEqual([409, 'EST_ALREADY_ROTATED']);
    });

    it('refuses key reuse, another vehicle, and requests without a vehicle certificate', async () => {
      const sameKey = await est('simplereenroll', csr(w, b.key, '/CN=TRK-201'), {
        cert: b.chain,
        key: b.key,
      });
      expect([sameKey.status, problemCode(sameKey)]).toEqual([409, 'EST_KEY_REUSED']);
      const oldKey = await est('simplereenroll', csr(w, a.key, '/CN=TRK-201'), { cert: b.chain, key: b.key });
      expect(problemCode(oldKey)).toBe('EST_KEY_REUSED');
      const otherVehicle = await est('simplereenroll', csr(w, genKey(w, 'ed25519'), '/CN=TRK-001'), {
        cert: b.chain,
        key: b.key,
      });
      expect([otherVehicle.status, problemCode(otherVehicle)]).toEqual([403, 'EST_CSR_IDENTITY_MISMATCH']);
      const body = csr(w, genKey(w, 'ed25519'), '/CN=TRK-201');
      const anonymous = await est('simplereenroll', body, {});
      expect([anonymous.status, problemCode(anonymous)]).toEqual([401, 'AUTH_CLIENT_CERT_REQUIRED']);
      const partnerDir = join(t.dataDir, 'pki', 'partners', 'acme-tms');
      const partner = await est('simplereenroll', body, {
        cert: join(partnerDir, 'chain.pem'),
        key: join(partnerDir, 'key.pem'),
      });
      expect([partner.status, problemCode(partner)]).toEqual([403, 'AUTH_IDENTITY_NOT_ALLOWED']);
      // A vehicle certificate does not authorise simpleenroll: renewal must record its succession.
      const viaEnroll = await est('simpleenroll', body, { cert: b.chain, key: b.key });
      expect([viaEnroll.status, problemCode(viaEnroll)]).toEqual([401, 'EST_AUTH_REQUIRED']);
      const refused = await auditEntries(t.gateway.store, 'pki.enrollment.refused');
      expect(
        refused.filter((e) => (e.subject as { id: string }).id === 'simplereenroll').length,
      ).toBeGreaterThanOrEqual(5);
    });

    it('revokes the old certificate as superseded once the overlap has ended', async () => {
      offsetMs += (GRACE_SECONDS + 5) * 1000;
      let status = 'active';
      for (let i = 0; i < 100 && status === 'active'; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = (await getCertificate(t.gateway.store, a.serial))?.status ?? 'missing';
      }
      const old = await getCertificate(t.gateway.store, a.serial);
      expect(old).toMatchObject({ status: 'revoked', revocationReason: 'superseded', replacedBy: b.serial });
      const revoked = (await auditEntries(t.gateway.store, 'pki.certificate.revoked')).find(
        (e) => (e.subject as { id: string }).id === a.serial,
      );
      expect(revoked).toMatchObject({ actor: { kind: 'system', id: 'rotation' }, reasons: ['superseded'] });
      expect((await getCertificate(t.gateway.store, b.serial))?.status).toBe('active');
      expect((await telemetry(b, 'TRK-201')).status).toBe(202);
      // Revocation enforcement (pki/revocation) refuses the old certificate on telemetry.
      expect((await telemetry(a, 'TRK-201')).status).not.toBe(202);
      // The superseded certificate no longer renews.
      const late = await est('simplereenroll', csr(w, genKey(w, 'ed25519'), '/CN=TRK-201'), {
        cert: a.chain,
        key: a.key,
      }).catch(() => ({ status: 0, body: '', headers: '' }));
      expect(late.status).not.toBe(200);
    });
  });
}
