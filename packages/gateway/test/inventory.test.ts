/** The certificate inventory is filled from the data directory at start, idempotently. */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCertificate, listCertificates, normaliseSerial } from '../src/pki/inventory.ts';
import { syncInventoryFromDataDir } from '../src/pki/inventory-sync.ts';
import { engines } from './support/engines.ts';
import { startTestGateway, type TestGateway } from './support/harness.ts';

for (const engine of engines()) {
  describe(`certificate inventory on ${engine.name}`, () => {
    let t: TestGateway;
    beforeAll(async () => {
      t = await startTestGateway(engine);
    });
    afterAll(async () => t?.stop());

    it('records every certificate of the data directory with kind, subject and thumbprint', async () => {
      const vehicles = await listCertificates(t.gateway.store, { kind: 'vehicle' });
      expect(vehicles.map((v) => v.subjectId).sort()).toEqual([
        'TRK-001',
        'TRK-002',
        'TRK-003',
        'TRK-UNLISTED',
      ]);
      expect(
        (await listCertificates(t.gateway.store, { kind: 'ca' })).map((c) => c.subjectId).sort(),
      ).toEqual(['intermediate', 'root']);
      const pem = readFileSync(join(t.dataDir, 'pki', 'devices', 'TRK-002', 'cert.pem'), 'utf8');
      const cert = new X509Certificate(pem);
      const entry = await getCertificate(t.gateway.store, cert.serialNumber);
      expect(entry).toMatchObject({
        kind: 'vehicle',
        subjectId: 'TRK-002',
        status: 'active',
        serialNumber: normaliseSerial(cert.serialNumber),
      });
      expect(entry?.thumbprintSha256).toMatch(/^[0-9a-f]{64}$/);
      const before = (await listCertificates(t.gateway.store)).length;
      expect(await syncInventoryFromDataDir(t.gateway.store, t.dataDir)).toBe(before);
      expect((await listCertificates(t.gateway.store)).length).toBe(before);
    });

    it('normalises serial numbers to lower-case hex without leading zero octets', () => {
      expect(normaliseSerial('00AB01')).toBe('ab01');
      expect(normaliseSerial('0F')).toBe('0f');
      expect(normaliseSerial('ABC')).toBe('0abc');
    });
  });
}
