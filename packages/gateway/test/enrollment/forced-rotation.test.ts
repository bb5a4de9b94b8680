/**
 * Forced rotation after a compromise (pki/rotation/force.ts) against a real gateway: the selected
 * certificates are revoked at once (keyCompromise, or cACompromise for an intermediate), cannot renew
 * over mTLS, stop working on telemetry, and their vehicles come back with the new bootstrap token — with
 * a fresh key only. The time from the forced rotation to the successor is measured. Selection by
 * vehicle, by tenant and by intermediate. On every store engine.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBootstrapToken } from '../../src/pki/enrollment/create-token.ts';
import { getCertificate, listCertificates, thumbprintOf } from '../../src/pki/inventory.ts';
import { forceRotation } from '../../src/pki/rotation/force.ts';
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

for (const engine of engines()) {
  describe(`forced rotation on ${engine.name}`, () => {
    let t: TestGateway;
    let w: Workdir;
    let offsetMs = 0;
    const now = () => new Date(Date.now() + offsetMs);
    const deps = () => ({ store: t.gateway.store, audit: t.gateway.audit, now });
    const operator = { kind: 'operator', id: 'secops' } as const;
    const est = (path: string, body: string, auth: { bearer?: string; cert?: string; key?: string }) =>
      curl(w, `${t.url.public}/.well-known/est/${path}`, { ca: t.caPath, data: body, ...auth }).catch(() => ({
        status: 0,
        body: '',
        headers: '',
      }));
    const enrollWith = async (
      vehicleId: string,
      token: string,
      key = genKey(w, 'ed25519'),
    ): Promise<Device> => {
      const r = await est('simpleenroll', csr(w, key, `/CN=${vehicleId}`), { bearer: token });
      expect(r.status).toBe(200);
      const certs = pkcs7Certificates(w, r.body).map((p) => new X509Certificate(p));
      const leaf = certs.find((c) => !c.ca) as X509Certificate;
      const chain = w.write(`${leaf.serialNumber}.pem`, [leaf, ...certs.filter((c) => c !== leaf)].join(''));
      return { key, chain, serial: leaf.serialNumber.toLowerCase() };
    };
    let counter = 0n;
    const telemetry = async (d: Device, vehicleId: string) => {
      counter += 1n;
      const body = w.write(
        `e${counter}.bin`,
        envelopeBytes(
          signerFromPem(readFileSync(d.key, 'utf8')),
          counter,
          batchBytes(vehicleId, { sentAt: now().getTime() }),
        ),
      );
      return curl(w, `${t.url.telemetry}/v1/telemetry`, {
        ca: t.caPath,
        data: body,
        contentType: 'application/x-protobuf',
        cert: d.chain,
        key: d.key,
      }).catch(() => ({ status: 0, body: '', headers: '' }));
    };

    let dev301: Device;
    beforeAll(async () => {
      w = new Workdir();
      t = await startTestGateway(engine, undefined, now);
      dev301 = await enrollWith('TRK-301', await newToken(deps(), 'TRK-301'));
      for (const [vehicleId, tenant] of [
        ['TRK-302', 'acme'],
        ['TRK-303', 'globex'],
      ] as const) {
        const { token } = await createBootstrapToken(deps(), {
          vehicleId,
          ttlSeconds: 600,
          actor: operator,
          tenant,
        });
        await enrollWith(vehicleId, token);
      }
    });
    afterAll(async () => {
      await t?.stop();
      w?.cleanup();
    });

    it('revokes a vehicle at once and lets it back only with the new token and a fresh key', async () => {
      expect((await telemetry(dev301, 'TRK-301')).status).toBe(202);
      const result = await forceRotation(deps(), {
        selector: { vehicleId: 'TRK-301' },
        actor: operator,
        tokenTtlSeconds: 3600,
      });
      expect(result.certificates.map((c) => c.serialNumber)).toEqual([dev301.serial]);
      expect(result.tokens.map((x) => x.vehicleId)).toEqual(['TRK-301']);
      expect(await getCertificate(t.gateway.store, dev301.serial)).toMatchObject({
        status: 'revoked',
        revocationReason: 'keyCompromise',
      });
      const forced = (await auditEntries(t.gateway.store, 'pki.rotation.forced')).at(-1);
      expect(forced).toMatchObject({
        actor: operator,
        subject: { id: dev301.serial },
        reasons: ['keyCompromise'],
      });

      expect((await telemetry(dev301, 'TRK-301')).status).not.toBe(202);
      const renew = await est('simplereenroll', csr(w, genKey(w, 'ed25519'), '/CN=TRK-301'), {
        cert: dev301.chain,
        key: dev301.key,
      });
      expect(renew.status).not.toBe(200);

      const overdue = async () =>
        /^fleetgate_certificates_rotation_overdue (\S+)$/m.exec(
          await (await fetch(`${t.url.ops}/metrics`)).text(),
        )?.[1];
      expect(await overdue()).toBe('1'); // force-rotated and not yet re-enrolled

      const token = result.tokens[0]?.token as string;
      const oldKey = await est('simpleenroll', csr(w, dev301.key, '/CN=TRK-301'), { bearer: token });
      expect([oldKey.status, problemCode(oldKey)]).toEqual([409, 'EST_KEY_REUSED']);
      offsetMs += 240_000; // the vehicle comes back four minutes later
      const back = await enrollWith('TRK-301', token);
      expect((await getCertificate(t.gateway.store, dev301.serial))?.replacedBy).toBe(back.serial);
      expect((await telemetry(back, 'TRK-301')).status).toBe(202);
      expect(await overdue()).toBe('0');

      const metrics = await (await fetch(`${t.url.ops}/metrics`)).text();
      expect(metrics).toMatch(/fleetgate_certificate_rotation_seconds_count\{forced="true"\} 1/);
      const mean = /^fleetgate_certificate_mean_time_to_rotation_seconds (\S+)$/m.exec(metrics)?.[1];
      expect(Number(mean)).toBeGreaterThanOrEqual(240);
    });

    it('selects by tenant', async () => {
      const result = await forceRotation(deps(), {
        selector: { tenant: 'acme' },
        actor: operator,
        tokenTtlSeconds: 60,
      });
      expect(result.certificates.map((c) => c.vehicleId)).toEqual(['TRK-302']);
      const active = await listCertificates(t.gateway.store, {
        kind: 'vehicle',
        subjectId: 'TRK-303',
        status: 'active',
      });
      expect(active).toHaveLength(1);
    });

    it('selects every certificate of a compromised intermediate, with reason cACompromise', async () => {
      const intermediate = new X509Certificate(
        readFileSync(join(t.dataDir, 'pki', 'intermediate', 'cert.pem')),
      );
      const result = await forceRotation(deps(), {
        selector: { intermediateSha256: thumbprintOf(intermediate) },
        actor: operator,
        issueTokens: false,
        tokenTtlSeconds: 60,
      });
      expect(result.certificates.length).toBeGreaterThanOrEqual(5); // TRK-001..003, TRK-UNLISTED, TRK-303, TRK-301
      expect(result.tokens).toEqual([]);
      expect(await listCertificates(t.gateway.store, { kind: 'vehicle', status: 'active' })).toEqual([]);
      const revoked = await listCertificates(t.gateway.store, { kind: 'vehicle', subjectId: 'TRK-303' });
      expect(revoked.map((c) => c.revocationReason)).toEqual(['cACompromise']);
    });
  });
}
