/**
 * Telemetry over the real mTLS listener: a signed batch is verified against the connection's
 * certificate key and stored; every bad input of this slice gets a coded 4xx, a rejection row and an
 * audit entry, stores nothing, and the gateway keeps serving. On every store engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAuditVerifierKeys } from '../src/audit/keys.ts';
import { verifyAuditLog } from '../src/audit/verify.ts';
import { engines } from './support/engines.ts';
import { batchBytes, envelopeBytes, type Signer, signerFromPem } from './support/envelopes.ts';
import { type Credentials, startTestGateway, type TestGateway } from './support/harness.ts';
import { httpsRequest } from './support/https-client.ts';

for (const engine of engines()) {
  describe(`telemetry on ${engine.name}`, () => {
    let t: TestGateway;
    let trk1: Credentials;
    let signer1: Signer;
    let signer2: Signer;
    const post = (creds: Credentials, body: Uint8Array) =>
      httpsRequest(`${t.url.telemetry}/v1/telemetry`, {
        ca: creds.ca,
        cert: creds.chain,
        key: creds.key,
        body,
        contentType: 'application/x-protobuf',
      });
    const count = async (table: string, vehicle: string): Promise<number> => {
      const [row] = await t.gateway.store.query<{ n: string }>(
        `SELECT count(*)::int8 AS n FROM ${table} WHERE vehicle_id = $1`,
        [vehicle],
      );
      return Number(row?.n);
    };

    beforeAll(async () => {
      t = await startTestGateway(engine);
      trk1 = t.vehicle('TRK-001');
      signer1 = signerFromPem(trk1.key);
      signer2 = signerFromPem(t.vehicle('TRK-002').key);
    });
    afterAll(async () => t?.stop());

    it('accepts a signed batch, stores its records and audits it', async () => {
      const res = await post(trk1, envelopeBytes(signer1, 1n, batchBytes('TRK-001', { records: 3 })));
      expect(res.status).toBe(202);
      expect(res.json()).toMatchObject({
        status: 'accepted',
        vehicleId: 'TRK-001',
        counter: '1',
        records: 3,
      });
      expect(await count('telemetry_records', 'TRK-001')).toBe(3);
      const [entry] = await t.gateway.store.query<{ entry: string }>(
        'SELECT entry FROM audit_entries WHERE idx = $1',
        [String(res.json().auditIndex)],
      );
      expect(JSON.parse(entry?.entry ?? '{}')).toMatchObject({
        class: 'telemetry.batch.accepted',
        actor: { id: 'TRK-001' },
      });
    });

    it('accepts out-of-order inside the window, refuses duplicates and replays', async () => {
      expect((await post(trk1, envelopeBytes(signer1, 5n, batchBytes('TRK-001')))).status).toBe(202);
      expect((await post(trk1, envelopeBytes(signer1, 3n, batchBytes('TRK-001')))).status).toBe(202);
      const replay = envelopeBytes(signer1, 4n, batchBytes('TRK-001'));
      expect((await post(trk1, replay)).status).toBe(202);
      const again = await post(trk1, replay);
      expect(again.status).toBe(409);
      expect(again.json().code).toBe('TELEMETRY_REPLAYED');
      const freshButSameCounter = await post(
        trk1,
        envelopeBytes(signer1, 5n, batchBytes('TRK-001', { records: 1 })),
      );
      expect(freshButSameCounter.json().code).toBe('TELEMETRY_REPLAYED');
      expect((await post(trk1, envelopeBytes(signer1, 3000n, batchBytes('TRK-001')))).status).toBe(202);
      const old = await post(trk1, envelopeBytes(signer1, 6n, batchBytes('TRK-001')));
      expect(old.json().code).toBe('TELEMETRY_COUNTER_TOO_OLD');
    });

    it('refuses every bad input with a coded 4xx, stores nothing from it, and keeps serving', async () => {
      const before = await count('telemetry_records', 'TRK-001');
      const signed = batchBytes('TRK-001', { sentAt: Date.now() });
      const tampered = signed.slice();
      // Flip the lowest mantissa bit of the first record's latitude: still a valid batch, a different fact.
      const lat = Buffer.from(tampered).indexOf(Buffer.from(new Float64Array([32.7767]).buffer));
      expect(lat).toBeGreaterThan(0);
      tampered[lat] = (tampered[lat] ?? 0) ^ 0x01;
      const flipped = envelopeBytes(signer1, 4001n, signed, { sendPayload: tampered });
      const cases: [string, Uint8Array, number, string][] = [
        ['tampered payload', flipped, 400, 'TELEMETRY_SIGNATURE_INVALID'],
        [
          'bad signature',
          envelopeBytes(signer1, 4002n, batchBytes('TRK-001'), {
            signature: (s) => s.map((b, i) => (i === 0 ? b ^ 1 : b)),
          }),
          400,
          'TELEMETRY_SIGNATURE_INVALID',
        ],
        [
          'signed by another vehicle key',
          envelopeBytes(signer2, 4003n, batchBytes('TRK-001')),
          400,
          'TELEMETRY_UNKNOWN_KEY',
        ],
        [
          'another key claiming this key id',
          envelopeBytes(signer2, 4004n, batchBytes('TRK-001'), { keyId: signer1.keyId }),
          400,
          'TELEMETRY_SIGNATURE_INVALID',
        ],
        [
          'batch for another vehicle',
          envelopeBytes(signer1, 4005n, batchBytes('TRK-002')),
          403,
          'TELEMETRY_VEHICLE_MISMATCH',
        ],
        [
          'older than telemetry.maxBatchAgeSeconds',
          envelopeBytes(signer1, 4006n, batchBytes('TRK-001', { sentAt: Date.now() - 8 * 86_400_000 })),
          400,
          'TELEMETRY_CLOCK_SKEW',
        ],
        [
          'garbage bytes',
          new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
          400,
          'TELEMETRY_MALFORMED',
        ],
        ['empty body', new Uint8Array(), 400, 'TELEMETRY_MALFORMED'],
        ['oversized envelope', new Uint8Array(1_048_577), 413, 'TELEMETRY_TOO_LARGE'],
        ['far oversized body', new Uint8Array(3 * 1_048_576), 413, 'REQUEST_BODY_TOO_LARGE'],
      ];
      for (const [name, body, status, code] of cases) {
        const res = await post(trk1, body);
        expect({ name, status: res.status, code: res.json().code }).toEqual({ name, status, code });
      }
      expect(await count('telemetry_records', 'TRK-001')).toBe(before);
      const rejections = await t.gateway.store.query<{ code: string; audit_index: string | null }>(
        'SELECT code, audit_index FROM telemetry_rejections WHERE vehicle_id = $1 ORDER BY id',
        ['TRK-001'],
      );
      const codes = rejections.map((r) => r.code);
      for (const [, , , code] of cases.slice(0, 9)) expect(codes).toContain(code);
      expect(rejections.every((r) => r.audit_index !== null)).toBe(true);
      // Still serving, and the refused counters were not consumed.
      expect((await post(trk1, envelopeBytes(signer1, 4001n, batchBytes('TRK-001')))).status).toBe(202);
    });

    it('keeps the audit log verifiable after all of it', async () => {
      // Twice: a checkpoint run the timer started before the last commit is shared by the first call.
      await t.gateway.audit.publish();
      await t.gateway.audit.publish();
      const report = await verifyAuditLog(t.gateway.store, {
        origin: t.gateway.config.audit.origin,
        ...loadAuditVerifierKeys(t.dataDir),
        requireSealed: true,
      });
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.entries).toBeGreaterThan(15);
    });
  });
}
