/**
 * verifyEnvelope without a listener or a store, for what needs many runs: a bit flip anywhere in a
 * valid envelope — payload, counter, payload type, key id, algorithm, signature, framing — is refused
 * with a coded GatewayError for every suite (property, fast-check), never accepted and never an
 * uncaught exception; and a suite the configuration switches off is TELEMETRY_UNSUPPORTED_ALGORITHM.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { generateEcdsaP256KeyPair } from '@fleetgate/core/signature/ecdsa-p256';
import { keyIdOf } from '@fleetgate/core/signature/ed25519';
import { generateHmacSha256Key } from '@fleetgate/core/signature/hmac-sha256';
import type { HybridEd25519MlDsa65PublicKey } from '@fleetgate/core/signature/hybrid-ed25519-mldsa65';
import { generateMlDsa65KeyPair } from '@fleetgate/core/signature/ml-dsa-65';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/config.ts';
import { GatewayError } from '../../src/errors/gateway-error.ts';
import type { PeerIdentity } from '../../src/pki/peer-identity.ts';
import type { DeviceKeySet } from '../../src/telemetry/device-keys/keyring.ts';
import { verifyEnvelope } from '../../src/telemetry/verify-envelope.ts';
import { batchBytes } from '../support/envelopes.ts';
import {
  ecdsaSigner,
  ed25519Signer,
  envelope,
  hmacSigner,
  hybridSigner,
  type SuiteSigner,
} from './support.ts';

const limits = defaultConfig().telemetry;
const certificate = generateKeyPairSync('ed25519');
const identity: PeerIdentity = {
  kind: 'vehicle',
  id: 'TRK-001',
  thumbprintSha256: randomBytes(32).toString('hex'),
  keyId: keyIdOf(certificate.publicKey),
  publicKey: certificate.publicKey,
  notBefore: new Date(0),
  notAfter: new Date(Date.now() + 86_400_000),
  serialNumber: '01',
};
const ecdsa = generateEcdsaP256KeyPair();
const hmac = generateHmacSha256Key();
const hmacKeyId = randomBytes(32).toString('hex');
const ml = generateMlDsa65KeyPair();
const hybrid: HybridEd25519MlDsa65PublicKey = { ed25519: certificate.publicKey, mlDsa65: ml.publicKey };

const signers: Record<string, SuiteSigner> = {
  ed25519: ed25519Signer(certificate.privateKey),
  'ecdsa-p256-sha256': ecdsaSigner(ecdsa.privateKey),
  'hmac-sha256': hmacSigner(hmac, hmacKeyId),
  'ed25519+ml-dsa-65': hybridSigner(certificate.privateKey, ml.privateKey),
};

/** The vehicle's keys as the keyring would hold them after registration. */
const keys: DeviceKeySet = {
  vehicleId: 'TRK-001',
  requiredAlgorithm: null,
  ecdsa: new Map([[keyIdOf(ecdsa.publicKey), ecdsa.publicKey]]),
  hmac: new Map([[hmacKeyId, hmac]]),
  hybridFor: (key) =>
    key === certificate.publicKey
      ? new Map([[(signers['ed25519+ml-dsa-65'] as SuiteSigner).keyId, hybrid]])
      : new Map(),
};

describe('verifyEnvelope', () => {
  const flip = (bytes: Uint8Array, bit: number): Uint8Array => {
    const flipped = bytes.slice();
    flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
    return flipped;
  };
  const refusal = (body: Uint8Array, now: Date): unknown => {
    try {
      verifyEnvelope(body, identity, limits, now, { keys });
    } catch (error) {
      return error;
    }
    return undefined;
  };

  for (const [suite, signer] of Object.entries(signers)) {
    const exhaustive = suite !== 'ed25519+ml-dsa-65';
    it(`refuses a bit flip anywhere in a ${suite} envelope (${exhaustive ? 'every bit' : 'property'})`, () => {
      const now = new Date();
      const valid = envelope(7n, batchBytes('TRK-001', { records: 3, sentAt: now.getTime() }), [signer]);
      expect(verifyEnvelope(valid, identity, limits, now, { keys }).algorithm).toBe(suite);
      if (exhaustive) {
        for (let bit = 0; bit < valid.byteLength * 8; bit += 1) {
          const error = refusal(flip(valid, bit), now);
          if (!(error instanceof GatewayError)) expect({ bit, error }).toBe('a coded refusal');
        }
        return;
      }
      // The composite signature is the envelope's last field: every bit before it, then samples within it.
      const signatureStart = valid.byteLength - 3373;
      for (let bit = 0; bit < signatureStart * 8; bit += 1) {
        expect(refusal(flip(valid, bit), now)).toBeInstanceOf(GatewayError);
      }
      fc.assert(
        fc.property(fc.integer({ min: signatureStart * 8, max: valid.byteLength * 8 - 1 }), (bit) => {
          expect(refusal(flip(valid, bit), now)).toBeInstanceOf(GatewayError);
        }),
        { numRuns: 400 },
      );
    });
  }

  it('refuses a suite the configuration switched off', () => {
    const now = new Date();
    const hmacOnly = envelope(1n, batchBytes('TRK-001', { sentAt: now.getTime() }), [
      signers['hmac-sha256'] as SuiteSigner,
    ]);
    expect(() => verifyEnvelope(hmacOnly, identity, limits, now, { keys, algorithms: ['ed25519'] })).toThrow(
      expect.objectContaining({ code: 'TELEMETRY_UNSUPPORTED_ALGORITHM' }),
    );
    expect(verifyEnvelope(hmacOnly, identity, limits, now, { keys, algorithms: ['hmac-sha256'] }).keyId).toBe(
      hmacKeyId,
    );
  });

  it('verifies ECDSA by a P-256 certificate key without a registered device key', () => {
    const now = new Date();
    const p256 = generateEcdsaP256KeyPair();
    const p256Identity: PeerIdentity = {
      ...identity,
      keyId: keyIdOf(p256.publicKey),
      publicKey: p256.publicKey,
    };
    const body = envelope(1n, batchBytes('TRK-001', { sentAt: now.getTime() }), [
      ecdsaSigner(p256.privateKey),
    ]);
    expect(verifyEnvelope(body, p256Identity, limits, now).algorithm).toBe('ecdsa-p256-sha256');
    // The same key id under the Ed25519 suite is no key of this vehicle.
    const asEd = envelope(2n, batchBytes('TRK-001', { sentAt: now.getTime() }), [
      { ...ed25519Signer(certificate.privateKey), keyId: keyIdOf(p256.publicKey) },
    ]);
    expect(() => verifyEnvelope(asEd, p256Identity, limits, now)).toThrow(
      expect.objectContaining({ code: 'TELEMETRY_UNKNOWN_KEY' }),
    );
  });

  it('verifies with the certificate key alone when no device keys are given', () => {
    const now = new Date();
    const ed = envelope(1n, batchBytes('TRK-001', { sentAt: now.getTime() }), [
      signers.ed25519 as SuiteSigner,
    ]);
    expect(verifyEnvelope(ed, identity, limits, now).algorithm).toBe('ed25519');
    const hy = envelope(2n, batchBytes('TRK-001', { sentAt: now.getTime() }), [
      signers['ed25519+ml-dsa-65'] as SuiteSigner,
    ]);
    expect(() => verifyEnvelope(hy, identity, limits, now)).toThrow(
      expect.objectContaining({ code: 'TELEMETRY_UNKNOWN_KEY' }),
    );
  });
});
