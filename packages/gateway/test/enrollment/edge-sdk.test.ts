/**
 * The edge SDK against a real gateway: enroll() with a bootstrap token writes DIR/device.pem (0600) and
 * the credentials send telemetry; CertificateRenewer renews at its due time over simplereenroll with a
 * new key; RotatingEdgeClient drains the old client under the old certificate (still valid in the
 * overlap) and sends new records under the new one. A lost answer is recovered: the pending key is
 * sent again and the gateway resends the certificate it issued. On every store engine.
 */

import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { EdgeClient } from '@fleetgate/edge/client';
import { DurableCounter } from '@fleetgate/edge/counter';
import { type DeviceCredentials, EnrollmentRefusedError, enroll } from '@fleetgate/edge/enroll';
import { CertificateRenewer, RotatingEdgeClient, renew } from '@fleetgate/edge/renew';
import { HttpsTransport } from '@fleetgate/edge/transport/https';
import { DrivingState } from '@fleetgate/protocol/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSelfSignedCa } from '../../src/pki/ca.ts';
import { getCertificate } from '../../src/pki/inventory.ts';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { newToken, Workdir } from './support.ts';

const record = (i: number) => ({
  timeUnixMs: BigInt(Date.now() - 1000 + i),
  latitude: 32.77,
  longitude: -96.79,
  speedMps: 25,
  headingDeg: 180,
  odometerM: 1000 + i,
  drivingState: DrivingState.AUTONOMOUS,
  faults: [],
});

for (const engine of engines()) {
  describe(`edge SDK enrollment and renewal on ${engine.name}`, () => {
    let t: TestGateway;
    let w: Workdir;
    let ca: string;
    const deps = () => ({ store: t.gateway.store, audit: t.gateway.audit, now: () => new Date() });

    beforeAll(async () => {
      w = new Workdir();
      t = await startTestGateway(engine);
      ca = t.vehicle('TRK-001').ca;
    });
    afterAll(async () => {
      await t?.stop();
      w?.cleanup();
    });

    it('enrolls, sends telemetry, renews on schedule and switches key and transport', async () => {
      const dir = w.path('trk-401');
      const first = await enroll({
        url: t.url.public,
        ca,
        vehicleId: 'TRK-401',
        token: await newToken(deps(), 'TRK-401'),
        dir,
      });
      expect(statSync(join(dir, 'device.pem')).mode & 0o777).toBe(0o600);
      expect(await readdir(dir)).toEqual(['device.pem']);
      expect((await getCertificate(t.gateway.store, first.serialNumber))?.subjectId).toBe('TRK-401');

      const counter = DurableCounter.open(join(dir, 'counter'));
      const clientFor = (c: DeviceCredentials) =>
        new EdgeClient({
          vehicleId: c.vehicleId,
          privateKey: c.privateKey,
          keyId: c.keyId,
          counter,
          transport: new HttpsTransport({ url: t.url.telemetry, cert: c.chainPem, key: c.keyPem, ca }),
          retry: { maxAttempts: 1 },
        });
      const client = new RotatingEdgeClient(first, clientFor);
      client.record(record(0));
      expect((await client.flush()).outcome).toBe('accepted');
      client.record(record(1)); // still queued under the old key when the renewal lands

      let switched: Promise<unknown> | undefined;
      const renewed = new Promise<DeviceCredentials>((resolve, reject) => {
        const renewer = new CertificateRenewer({
          url: t.url.public,
          ca,
          dir,
          credentials: first,
          now: () => first.notAfter.getTime(), // the clock says: past due
          onRenewed: (c) => {
            switched = client.switchTo(c);
            renewer.stop();
            resolve(c);
          },
          onError: reject,
        });
        expect(renewer.dueAt.getTime()).toBe(
          first.notBefore.getTime() +
            Math.floor(((first.notAfter.getTime() - first.notBefore.getTime()) * 2) / 3),
        );
        renewer.start();
      });
      const second = await renewed;
      const drained = (await switched) as Array<{ outcome: string }>;
      expect(drained.map((r) => r.outcome)).toEqual(['accepted']);
      expect(second.serialNumber).not.toBe(first.serialNumber);
      expect(second.keyId).not.toBe(first.keyId);
      expect(await getCertificate(t.gateway.store, first.serialNumber)).toMatchObject({
        status: 'active',
        replacedBy: second.serialNumber,
      });
      client.record(record(2));
      expect((await client.flush()).outcome).toBe('accepted');
      client.close();
      counter.close();
      expect(statSync(join(dir, 'device.pem')).mode & 0o777).toBe(0o600);
      expect(await readdir(dir)).toEqual(['counter', 'device.pem']);
    });

    it('recovers a lost answer by sending the pending key again', async () => {
      const dir = w.path('trk-402');
      const token = await newToken(deps(), 'TRK-402');
      const setPending = (pem: string) => {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        writeFileSync(join(dir, 'pending-key.pem'), pem, { mode: 0o600 });
      };
      // A key generated by an earlier attempt that crashed before sending is used, not replaced.
      const pending = generateKeyPairSync('ed25519').privateKey;
      setPending(pending.export({ format: 'pem', type: 'pkcs8' }).toString());
      const first = await enroll({ url: t.url.public, ca, vehicleId: 'TRK-402', token, dir });
      expect(createPrivateKey(first.keyPem).equals(pending)).toBe(true);
      // The answer was lost (nothing saved): the same key with the now spent token gets the same certificate.
      setPending(first.keyPem);
      const again = await enroll({ url: t.url.public, ca, vehicleId: 'TRK-402', token, dir });
      expect(again.serialNumber).toBe(first.serialNumber);

      // The same for renewal: the first simplereenroll was issued, its answer lost.
      const r1 = await renew({ url: t.url.public, ca, dir, credentials: first });
      setPending(r1.keyPem);
      const r2 = await renew({ url: t.url.public, ca, dir, credentials: first });
      expect(r2.serialNumber).toBe(r1.serialNumber);
      expect(r2.keyId).not.toBe(first.keyId);
    });

    it('reports a refusal with the gateway problem code', async () => {
      const error = await enroll({
        url: t.url.public,
        ca,
        vehicleId: 'TRK-403',
        token: `fgbt_${'B'.repeat(43)}`,
        dir: w.path('trk-403'),
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EnrollmentRefusedError);
      expect((error as EnrollmentRefusedError).status).toBe(401);
      expect((error as EnrollmentRefusedError).problem?.code).toBe('EST_TOKEN_INVALID');
      // A gateway whose certificate does not chain to the given CA is never talked to.
      const foreign = await createSelfSignedCa({ commonName: 'not the fleetgate CA' });
      const spoofed = await enroll({
        url: t.url.public,
        ca: foreign.certificate.toString(),
        vehicleId: 'TRK-403',
        token: await newToken(deps(), 'TRK-403'),
        dir: w.path('trk-403b'),
      }).catch((e: unknown) => e);
      expect(spoofed).toMatchObject({ code: 'EDGE_TLS' });
    });
  });
}
