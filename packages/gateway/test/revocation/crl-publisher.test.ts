/**
 * CRL publication across gateway nodes sharing one store: CRL numbers strictly increase whichever node
 * signs (RFC 5280 §5.2.3), a CRL is reissued when its entries change and when it is due (before
 * nextUpdate), a revocation made through another node reaches this gateway's CRL without an in-process
 * notice, and a node without the CA key publishes the stored CRL without signing. Each node is a
 * CrlPublisher with its own clock and data directory over the same database. On every store engine.
 */
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIssuingCa } from '../../src/pki/ca.ts';
import { normaliseSerial } from '../../src/pki/inventory.ts';
import { writeCrlFiles } from '../../src/pki/revocation/crl-files.ts';
import { CrlPublisher } from '../../src/pki/revocation/crl-publisher.ts';
import { revokeCertificate } from '../../src/pki/revocation/revoke.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { auditEntries, detachedStore, eventually, httpsBytes, openssl } from './support.ts';

const MINUTE = 60_000;

for (const engine of engines()) {
  describe(`CRL publication across nodes on ${engine.name}`, () => {
    let t: TestGateway;
    let nodeDir: string;
    let other: Store | undefined;
    let store: Store;
    const issuer = () =>
      new X509Certificate(readFileSync(join(t.dataDir, 'pki', 'intermediate', 'cert.pem')));
    const node = async (clock: () => Date, withCa = true) =>
      new CrlPublisher({
        store,
        audit: t.gateway.audit,
        issuer: issuer(),
        ca: withCa ? await loadIssuingCa(t.dataDir) : undefined,
        now: clock,
        validitySeconds: 3600,
        reissueSeconds: 1800,
      });

    beforeAll(async () => {
      t = await startTestGateway(engine);
      nodeDir = mkdtempSync(join(tmpdir(), 'fleetgate-node-b-'));
      mkdirSync(join(nodeDir, 'pki'), { mode: 0o700 });
      if (engine.name === 'postgres' && engine.url !== undefined && t.postgresSchema !== undefined) {
        other = await openStore({ engine: 'postgres', url: engine.url, schema: t.postgresSchema });
      }
      store = other ?? detachedStore(t.gateway.store);
    });
    afterAll(async () => {
      await other?.close();
      await t?.stop();
      rmSync(nodeDir, { recursive: true, force: true });
    });

    it('reuses a current CRL, reissues a due one with the next number and a fresh window', async () => {
      const current = await (await node(() => new Date())).publish();
      expect(current).toBeDefined();
      const again = await (await node(() => new Date())).publish();
      expect(again?.crlNumber).toBe(current?.crlNumber); // nothing changed, not due: not re-signed
      expect(await writeCrlFiles(nodeDir, again ? [again] : [])).toBe(true);
      expect(await writeCrlFiles(nodeDir, again ? [again] : [])).toBe(false); // unchanged: not rewritten
      expect(readFileSync(join(nodeDir, 'pki', 'crl.der'))).toEqual(Buffer.from(current?.der ?? []));

      const later = new Date(Date.now() + 31 * MINUTE);
      const due = await (await node(() => later)).publish();
      expect(due?.crlNumber).toBeGreaterThan(current?.crlNumber ?? 0n);
      expect(due?.thisUpdate.getTime()).toBe(Math.floor(later.getTime() / 1000) * 1000);
      expect((due?.nextUpdate.getTime() ?? 0) - (due?.thisUpdate.getTime() ?? 0)).toBe(3600_000);
    });

    it('numbers CRLs strictly upwards when several nodes sign at once', async () => {
      const before = (await auditEntries(t.gateway.store, 'pki.crl.issued')).length;
      // Clocks an hour apart each step make every run due (reissue at 30 min), on four "nodes".
      const base = Date.now() + 2 * 3600_000;
      const runs = await Promise.all(
        Array.from({ length: 8 }, async (_, i) =>
          (await node(() => new Date(base + i * 3600_000))).publish(),
        ),
      );
      const numbers = runs.map((r) => r?.crlNumber ?? 0n);
      expect(new Set(numbers).size).toBeGreaterThan(1);
      const issued = (await auditEntries(t.gateway.store, 'pki.crl.issued')).slice(before);
      const issuedNumbers = issued.map((e) => BigInt((e.entry.subject as { id: string }).id));
      expect(issuedNumbers.length).toBeGreaterThan(0);
      for (let i = 1; i < issuedNumbers.length; i += 1) {
        expect(issuedNumbers[i]).toBeGreaterThan(issuedNumbers[i - 1] ?? 0n); // in audit (commit) order
      }
      expect(new Set(issuedNumbers).size).toBe(issuedNumbers.length);
    });

    it('publishes a revocation made through another node on this gateway, which got no notice of it', async () => {
      const cert = new X509Certificate(t.vehicle('TRK-003').cert);
      const serial = normaliseSerial(cert.serialNumber);
      await revokeCertificate(
        { store, audit: t.gateway.audit, now: () => new Date() },
        { serialNumber: serial, reason: 'superseded', actor: { kind: 'system', id: 'rotation' } },
      );
      // The gateway's poll sees the revocation and (re)publishes; whichever node signs, the CRL the
      // gateway serves lists the serial.
      const ca = readFileSync(t.caPath, 'utf8');
      const crl = await eventually(
        async () => {
          const res = await httpsBytes(`${t.url.public}/pki/crl.pem`, { ca });
          const text = openssl(['crl', '-noout', '-text'], res.body.toString('utf8'));
          return text.stdout.includes(`Serial Number: ${serial.toUpperCase()}`) && text.stdout;
        },
        5_000,
        "the gateway's CRL lists the serial revoked on another node",
      );
      expect(crl).toMatch(/CRL Reason Code:\s*\n\s*Superseded/);
    });

    it('a node without the CA key publishes the stored CRL and never signs', async () => {
      const before = (await auditEntries(t.gateway.store, 'pki.crl.issued')).length;
      const keyless = await node(() => new Date(Date.now() + 400 * 24 * 3600_000), false);
      const doc = await keyless.publish();
      expect(doc).toBeDefined();
      expect((await auditEntries(t.gateway.store, 'pki.crl.issued')).length).toBe(before);
      await writeCrlFiles(nodeDir, doc ? [doc] : []);
      expect(readFileSync(join(nodeDir, 'pki', 'crl.pem'), 'utf8')).toBe(doc?.pem);
    });
  });
}
