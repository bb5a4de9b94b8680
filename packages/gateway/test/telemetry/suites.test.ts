/**
 * Every signature suite at the gateway, over the real mTLS listener, on every store engine: Ed25519 by
 * the certificate key, ECDSA P-256 and the hybrid's ML-DSA-65 half by keys registered in device_keys,
 * HMAC-SHA256 by a wrapped per-device secret. Then the checklist's bad signatures at the envelope level
 * (the primitives themselves are covered by core's Wycheproof tests): a hybrid stripped of a component,
 * swapped components, a wrong ML-DSA length, a wrong key id, a truncated HMAC tag, another vehicle's key
 * on this vehicle's connection, a downgrade against the vehicle's policy, a revoked key. Each refusal is
 * coded, stored as a rejection, and stores nothing of the batch.
 */
import type { KeyObject } from 'node:crypto';
import { generateEcdsaP256KeyPair } from '@fleetgate/core/signature/ecdsa-p256';
import { generateHmacSha256Key } from '@fleetgate/core/signature/hmac-sha256';
import { generateMlDsa65KeyPair } from '@fleetgate/core/signature/ml-dsa-65';
import { SignatureAlgorithm } from '@fleetgate/protocol/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setSignaturePolicy } from '../../src/telemetry/device-keys/policy.ts';
import { registerDeviceKey } from '../../src/telemetry/device-keys/register.ts';
import { revokeDeviceKey } from '../../src/telemetry/device-keys/revoke.ts';
import { engines } from '../support/engines.ts';
import { batchBytes } from '../support/envelopes.ts';
import { type Credentials, startTestGateway, type TestGateway } from '../support/harness.ts';
import {
  certificateKey,
  countRows,
  ecdsaSigner,
  ed25519Signer,
  envelope,
  hmacSigner,
  hybridSigner,
  postTelemetry,
  type SuiteSigner,
  type WireSignature,
} from './support.ts';

const operator = { kind: 'operator', id: 'test-operator' } as const;

for (const engine of engines()) {
  describe(`telemetry signature suites on ${engine.name}`, () => {
    let t: TestGateway;
    let trk1: Credentials;
    let trk2: Credentials;
    const signers = {} as Record<
      'ed' | 'ecdsa' | 'hmac' | 'hybrid' | 'ed2' | 'ecdsa2' | 'hmac2',
      SuiteSigner
    >;
    let mlDsaOther: KeyObject;
    let counter = 0n;
    const next = (): bigint => {
      counter += 1n;
      return counter;
    };
    const send = (creds: Credentials, body: Uint8Array) => postTelemetry(t, creds, body);

    beforeAll(async () => {
      t = await startTestGateway(engine, (c) => {
        c.telemetryIngest.deviceKeyCacheMs = 0; // keys registered below are in force at once
      });
      trk1 = t.vehicle('TRK-001');
      trk2 = t.vehicle('TRK-002');
      const deps = {
        store: t.gateway.store,
        audit: t.gateway.audit,
        ...(t.gateway.telemetryIngest.kek ? { kek: t.gateway.telemetryIngest.kek } : {}),
      };
      const register = async (vehicleId: string, what: 'ecdsa' | 'hmac' | 'ml') => {
        if (what === 'ecdsa') {
          const pair = generateEcdsaP256KeyPair();
          await registerDeviceKey(deps, {
            vehicleId,
            algorithm: 'ecdsa-p256-sha256',
            publicKey: pair.publicKey,
            actor: operator,
          });
          return ecdsaSigner(pair.privateKey);
        }
        if (what === 'hmac') {
          const secret = generateHmacSha256Key();
          const r = await registerDeviceKey(deps, {
            vehicleId,
            algorithm: 'hmac-sha256',
            secret: new Uint8Array(secret.export()),
            actor: operator,
          });
          return hmacSigner(secret, r.keyId);
        }
        const ml = generateMlDsa65KeyPair();
        await registerDeviceKey(deps, {
          vehicleId,
          algorithm: 'ed25519+ml-dsa-65',
          publicKey: ml.publicKey,
          actor: operator,
        });
        return hybridSigner(certificateKey(vehicleId === 'TRK-001' ? trk1 : trk2), ml.privateKey);
      };
      signers.ed = ed25519Signer(certificateKey(trk1));
      signers.ed2 = ed25519Signer(certificateKey(trk2));
      signers.ecdsa = await register('TRK-001', 'ecdsa');
      signers.hmac = await register('TRK-001', 'hmac');
      signers.hybrid = await register('TRK-001', 'ml');
      signers.ecdsa2 = await register('TRK-002', 'ecdsa');
      signers.hmac2 = await register('TRK-002', 'hmac');
      mlDsaOther = generateMlDsa65KeyPair().privateKey;
    });
    afterAll(async () => t?.stop());

    it('accepts a batch signed with each suite and records which suite signed it', async () => {
      for (const [name, signer, algorithm] of [
        ['ed25519', signers.ed, 'ed25519'],
        ['ecdsa', signers.ecdsa, 'ecdsa-p256-sha256'],
        ['hmac', signers.hmac, 'hmac-sha256'],
        ['hybrid', signers.hybrid, 'ed25519+ml-dsa-65'],
      ] as const) {
        const c = next();
        const res = await send(trk1, envelope(c, batchBytes('TRK-001', { records: 3 }), [signer]));
        expect({ name, status: res.status }).toEqual({ name, status: 202 });
        const [row] = await t.gateway.store.query<{ algorithm: string; key_id: string }>(
          'SELECT algorithm, key_id FROM telemetry_batches WHERE vehicle_id = $1 AND counter = $2',
          ['TRK-001', c.toString()],
        );
        expect(row).toEqual({ algorithm, key_id: signer.keyId });
        const [entry] = await t.gateway.store.query<{ entry: string }>(
          'SELECT entry FROM audit_entries WHERE idx = $1',
          [String(res.json().auditIndex)],
        );
        expect(JSON.parse(entry?.entry ?? '{}').details).toMatchObject({ algorithm, keyId: signer.keyId });
      }
      // Two suites at once: both must verify; the batch is named by the strongest.
      const c = next();
      expect(
        (await send(trk1, envelope(c, batchBytes('TRK-001'), [signers.hmac, signers.hybrid]))).status,
      ).toBe(202);
    });

    it('refuses every hostile signature with its code and stores nothing of it', async () => {
      const batches = await countRows(t, 'telemetry_batches', 'TRK-001');
      const records = await countRows(t, 'telemetry_records', 'TRK-001');
      const only = (f: (s: WireSignature) => WireSignature) => (sigs: WireSignature[]) => sigs.map(f);
      const withBytes = (signature: Uint8Array) => only((s) => ({ ...s, signature }));
      const payload = () => batchBytes('TRK-001');
      const hybridSig = (c: bigint): Uint8Array => {
        let captured: Uint8Array = new Uint8Array();
        envelope(c, payload(), [signers.hybrid], (s) => {
          captured = (s[0] as WireSignature).signature;
          return s;
        });
        return captured;
      };
      const cases: [string, () => Uint8Array, number, string][] = [
        [
          'hybrid stripped to its Ed25519 component',
          () =>
            envelope(
              next(),
              payload(),
              [signers.hybrid],
              only((s) => ({ ...s, signature: s.signature.slice(0, 64) })),
            ),
          400,
          'TELEMETRY_MALFORMED',
        ],
        [
          'hybrid stripped to its ML-DSA-65 component',
          () =>
            envelope(
              next(),
              payload(),
              [signers.hybrid],
              only((s) => ({ ...s, signature: s.signature.slice(64) })),
            ),
          400,
          'TELEMETRY_MALFORMED',
        ],
        [
          'hybrid with its components swapped',
          () =>
            envelope(
              next(),
              payload(),
              [signers.hybrid],
              only((s) => ({
                ...s,
                signature: Buffer.concat([s.signature.subarray(64), s.signature.subarray(0, 64)]),
              })),
            ),
          400,
          'TELEMETRY_SIGNATURE_INVALID',
        ],
        [
          'hybrid with an ML-DSA component one byte short',
          () =>
            envelope(
              next(),
              payload(),
              [signers.hybrid],
              only((s) => ({ ...s, signature: s.signature.slice(0, -1) })),
            ),
          400,
          'TELEMETRY_MALFORMED',
        ],
        [
          'hybrid with an ML-DSA component one byte long',
          () =>
            envelope(
              next(),
              payload(),
              [signers.hybrid],
              only((s) => ({ ...s, signature: Buffer.concat([s.signature, Buffer.from([0])]) })),
            ),
          400,
          'TELEMETRY_MALFORMED',
        ],
        [
          "hybrid's Ed25519 half presented as a plain Ed25519 signature",
          () => {
            const c = next();
            const half = hybridSig(c).slice(0, 64);
            return envelope(c, payload(), [signers.ed], withBytes(half));
          },
          400,
          'TELEMETRY_SIGNATURE_INVALID',
        ],
        [
          'hybrid by an ML-DSA-65 key that is not registered (wrong key id)',
          () => envelope(next(), payload(), [hybridSigner(certificateKey(trk1), mlDsaOther)]),
          400,
          'TELEMETRY_UNKNOWN_KEY',
        ],
        [
          'HMAC tag truncated to 16 bytes',
          () =>
            envelope(
              next(),
              payload(),
              [signers.hmac],
              only((s) => ({ ...s, signature: s.signature.slice(0, 16) })),
            ),
          400,
          'TELEMETRY_MALFORMED',
        ],
        [
          'HMAC tag with one bit flipped',
          () =>
            envelope(
              next(),
              payload(),
              [signers.hmac],
              only((s) => ({ ...s, signature: s.signature.map((b, i) => (i === 31 ? b ^ 1 : b)) })),
            ),
          400,
          'TELEMETRY_SIGNATURE_INVALID',
        ],
        [
          'HMAC under a key id that is not registered',
          () =>
            envelope(
              next(),
              payload(),
              [signers.hmac],
              only((s) => ({ ...s, keyId: 'ab'.repeat(32) })),
            ),
          400,
          'TELEMETRY_UNKNOWN_KEY',
        ],
        [
          "TRK-002's HMAC key on TRK-001's connection",
          () => envelope(next(), payload(), [signers.hmac2]),
          400,
          'TELEMETRY_UNKNOWN_KEY',
        ],
        [
          "TRK-002's ECDSA key on TRK-001's connection",
          () => envelope(next(), payload(), [signers.ecdsa2]),
          400,
          'TELEMETRY_UNKNOWN_KEY',
        ],
        [
          "TRK-002's certificate key on TRK-001's connection",
          () => envelope(next(), payload(), [signers.ed2]),
          400,
          'TELEMETRY_UNKNOWN_KEY',
        ],
        [
          'a valid Ed25519 signature beside a hybrid that does not verify',
          () =>
            envelope(next(), payload(), [signers.ed, signers.hybrid], (sigs) =>
              sigs.map((s) =>
                s.algorithm === SignatureAlgorithm.ED25519_MLDSA65
                  ? { ...s, signature: s.signature.map((b, i) => (i === 100 ? b ^ 0x80 : b)) }
                  : s,
              ),
            ),
          400,
          'TELEMETRY_SIGNATURE_INVALID',
        ],
        [
          'ECDSA over another counter than the one sent',
          () => {
            const c = next();
            let sig: Uint8Array = new Uint8Array();
            envelope(c + 1000n, payload(), [signers.ecdsa], (s) => {
              sig = (s[0] as WireSignature).signature;
              return s;
            });
            return envelope(c, payload(), [signers.ecdsa], withBytes(sig));
          },
          400,
          'TELEMETRY_SIGNATURE_INVALID',
        ],
      ];
      for (const [name, body, status, code] of cases) {
        const res = await send(trk1, body());
        expect({ name, status: res.status, code: res.json().code }).toEqual({ name, status, code });
      }
      expect(await countRows(t, 'telemetry_batches', 'TRK-001')).toBe(batches);
      expect(await countRows(t, 'telemetry_records', 'TRK-001')).toBe(records);
      const codes = (
        await t.gateway.store.query<{ code: string }>(
          'SELECT code FROM telemetry_rejections WHERE vehicle_id = $1',
          ['TRK-001'],
        )
      ).map((r) => r.code);
      for (const [, , , code] of cases) expect(codes).toContain(code);
      expect(codes.length).toBeGreaterThanOrEqual(cases.length);
    });

    it("makes a weaker suite than the vehicle's policy a downgrade, refused before verification", async () => {
      const deps = { store: t.gateway.store, audit: t.gateway.audit };
      await setSignaturePolicy(deps, {
        vehicleId: 'TRK-001',
        requiredAlgorithm: 'ed25519+ml-dsa-65',
        actor: operator,
      });
      for (const [name, signer] of [
        ['ed25519 alone (the hybrid stripped to what the certificate key can sign)', signers.ed],
        ['ecdsa', signers.ecdsa],
        ['hmac', signers.hmac],
      ] as const) {
        const res = await send(trk1, envelope(next(), batchBytes('TRK-001'), [signer]));
        expect({ name, status: res.status, code: res.json().code }).toEqual({
          name,
          status: 403,
          code: 'TELEMETRY_SIGNATURE_DOWNGRADE',
        });
      }
      // Not even a valid-looking weaker signature is verified: a forged Ed25519 one is still a downgrade.
      const forged = await send(
        trk1,
        envelope(next(), batchBytes('TRK-001'), [signers.ed], (s) =>
          s.map((x) => ({ ...x, signature: new Uint8Array(64) })),
        ),
      );
      expect(forged.json().code).toBe('TELEMETRY_SIGNATURE_DOWNGRADE');
      expect((await send(trk1, envelope(next(), batchBytes('TRK-001'), [signers.hybrid]))).status).toBe(202);
      expect(
        (await send(trk1, envelope(next(), batchBytes('TRK-001'), [signers.ed, signers.hybrid]))).status,
      ).toBe(202);

      await setSignaturePolicy(deps, {
        vehicleId: 'TRK-001',
        requiredAlgorithm: 'ecdsa-p256-sha256',
        actor: operator,
      });
      expect((await send(trk1, envelope(next(), batchBytes('TRK-001'), [signers.ed]))).json().code).toBe(
        'TELEMETRY_SIGNATURE_DOWNGRADE',
      );
      expect((await send(trk1, envelope(next(), batchBytes('TRK-001'), [signers.ecdsa]))).status).toBe(202);
      expect((await send(trk1, envelope(next(), batchBytes('TRK-001'), [signers.hybrid]))).status).toBe(202);

      await setSignaturePolicy(deps, { vehicleId: 'TRK-001', requiredAlgorithm: null, actor: operator });
      expect((await send(trk1, envelope(next(), batchBytes('TRK-001'), [signers.ed]))).status).toBe(202);
      // The policy of TRK-001 never applied to TRK-002.
      expect((await send(trk2, envelope(1n, batchBytes('TRK-002'), [signers.ed2]))).status).toBe(202);
    });

    it('stops accepting a device key once it is revoked', async () => {
      const deps = { store: t.gateway.store, audit: t.gateway.audit };
      expect((await send(trk1, envelope(next(), batchBytes('TRK-001'), [signers.hmac]))).status).toBe(202);
      const revoked = await revokeDeviceKey(deps, {
        vehicleId: 'TRK-001',
        keyId: signers.hmac.keyId,
        actor: operator,
      });
      expect(revoked.alreadyRevoked).toBe(false);
      const res = await send(trk1, envelope(next(), batchBytes('TRK-001'), [signers.hmac]));
      expect([res.status, res.json().code]).toEqual([400, 'TELEMETRY_UNKNOWN_KEY']);
      expect(
        (await revokeDeviceKey(deps, { vehicleId: 'TRK-001', keyId: signers.hmac.keyId, actor: operator }))
          .alreadyRevoked,
      ).toBe(true);
      // Another vehicle's key id cannot be revoked through this vehicle.
      await expect(
        revokeDeviceKey(deps, { vehicleId: 'TRK-001', keyId: signers.hmac2.keyId, actor: operator }),
      ).rejects.toThrow(/has no key/);
    });
  });
}
