/** signEnvelope output decodes with the protocol codec and verifies with core, over signingInput. */
import { generateKeyPairSync } from 'node:crypto';
import { ed25519Verify, generateEd25519KeyPair, keyIdOf } from '@fleetgate/core/signature/ed25519';
import { signingInput } from '@fleetgate/core/signature/signing-input';
import {
  DrivingState,
  decodeBatch,
  decodeEnvelope,
  encodeBatch,
  SignatureAlgorithm,
  TELEMETRY_PAYLOAD_TYPE,
} from '@fleetgate/protocol/telemetry';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EdgeError } from '../src/errors.ts';
import { signEnvelope } from '../src/signer.ts';

const { privateKey, publicKey } = generateEd25519KeyPair();
const keyId = keyIdOf(publicKey);

const payload = encodeBatch({
  vehicleId: 'TRK-0042',
  firstSequence: 1n,
  sentAtUnixMs: 1_750_000_000_000n,
  records: [
    {
      timeUnixMs: 1_750_000_000_000n,
      latitude: 31.76,
      longitude: -106.49,
      speedMps: 0,
      headingDeg: 0,
      odometerM: 10,
      drivingState: DrivingState.MINIMAL_RISK_CONDITION,
      faults: ['STEERING.FAULT'],
    },
  ],
});

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(EdgeError);
    return (e as EdgeError).code;
  }
  throw new Error('expected an EdgeError');
}

describe('signEnvelope', () => {
  it('produces an envelope that decodes and verifies over core signingInput', () => {
    const bytes = signEnvelope({
      payload,
      payloadType: TELEMETRY_PAYLOAD_TYPE,
      counter: 42n,
      privateKey,
      keyId,
    });
    const envelope = decodeEnvelope(bytes);
    expect(envelope.payload).toEqual(payload);
    expect(envelope.payloadType).toBe(TELEMETRY_PAYLOAD_TYPE);
    expect(envelope.counter).toBe(42n);
    expect(envelope.signatures).toHaveLength(1);
    const [sig] = envelope.signatures;
    expect(sig?.algorithm).toBe(SignatureAlgorithm.ED25519);
    expect(sig?.keyId).toBe(keyId);
    const message = signingInput(envelope.payloadType, envelope.counter, envelope.payload);
    expect(ed25519Verify(publicKey, message, sig?.signature ?? new Uint8Array())).toBe(true);
    expect(decodeBatch(envelope.payload).records[0]?.drivingState).toBe(DrivingState.MINIMAL_RISK_CONDITION);
  });

  it('binds payload, counter and payload type: changing any one breaks the signature', () => {
    const envelope = decodeEnvelope(
      signEnvelope({ payload, payloadType: TELEMETRY_PAYLOAD_TYPE, counter: 42n, privateKey, keyId }),
    );
    const signature = envelope.signatures[0]?.signature ?? new Uint8Array();
    const tampered = payload.slice();
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
    expect(ed25519Verify(publicKey, signingInput(TELEMETRY_PAYLOAD_TYPE, 42n, tampered), signature)).toBe(
      false,
    );
    expect(ed25519Verify(publicKey, signingInput(TELEMETRY_PAYLOAD_TYPE, 43n, payload), signature)).toBe(
      false,
    );
    expect(ed25519Verify(publicKey, signingInput('application/x-other', 42n, payload), signature)).toBe(
      false,
    );
  });

  it('verifies for random payloads and counters', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }),
        (p, c) => {
          const envelope = decodeEnvelope(
            signEnvelope({ payload: p, payloadType: TELEMETRY_PAYLOAD_TYPE, counter: c, privateKey, keyId }),
          );
          const sig = envelope.signatures[0]?.signature ?? new Uint8Array();
          expect(ed25519Verify(publicKey, signingInput(TELEMETRY_PAYLOAD_TYPE, c, p), sig)).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('refuses a key id that is not the key, a key that is not Ed25519, and unsignable input', () => {
    const other = keyIdOf(generateEd25519KeyPair().publicKey);
    const input = { payload, payloadType: TELEMETRY_PAYLOAD_TYPE, counter: 1n, privateKey, keyId };
    expect(codeOf(() => signEnvelope({ ...input, keyId: other }))).toBe('EDGE_INVALID_KEY');
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(codeOf(() => signEnvelope({ ...input, privateKey: p256.privateKey }))).toBe('EDGE_INVALID_KEY');
    expect(codeOf(() => signEnvelope({ ...input, privateKey: publicKey }))).toBe('EDGE_INVALID_KEY');
    expect(codeOf(() => signEnvelope({ ...input, payloadType: 'Not A Type' }))).toBe('EDGE_INVALID_ARGUMENT');
    expect(codeOf(() => signEnvelope({ ...input, counter: 0n }))).toBe('EDGE_INVALID_ARGUMENT');
    expect(codeOf(() => signEnvelope({ ...input, payload: new Uint8Array(0) }))).toBe(
      'EDGE_INVALID_ARGUMENT',
    );
  });
});
