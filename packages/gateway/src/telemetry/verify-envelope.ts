/**
 * Verifies one signed telemetry envelope received for an authenticated vehicle, in the order the threat
 * model needs (docs/telemetry.md "Verification"):
 *   1. size and wire-format limits, before any Protobuf parsing (hostile bytes);
 *   2. every signature's length for its suite, before any cryptography (a truncated HMAC tag, a hybrid
 *      without its ML-DSA-65 component);
 *   3. which signatures are by keys of THIS vehicle: its certificate key (Ed25519; or a P-256 certificate
 *      key for ECDSA) and its active device keys (device-keys/keyring.ts). A key of another vehicle, an
 *      unregistered or revoked key id count as no key at all;
 *   4. the vehicle's signature policy: without a signature of the required suite (or of the hybrid) the
 *      envelope is a downgrade — refused before any verification;
 *   5. every signature by this vehicle's keys verifies, over the exact bytes received (never a
 *      re-serialisation) with core's domain-separated signing input; the hybrid needs both components;
 *   6. the batch's claims, trusted only once signed: its vehicle id is the connection's, its clock is
 *      within telemetry.maxClockSkewSeconds and no record is in the future.
 * Replay is checked afterwards, atomically with the write (write-group.ts).
 */
import type { KeyObject } from 'node:crypto';
import { sha256 } from '@fleetgate/core/hash';
import { SIGNATURE_LENGTHS, type SignatureAlgorithm as SuiteName } from '@fleetgate/core/signature/algorithm';
import { signingInput } from '@fleetgate/core/signature/signing-input';
import { type VerificationKey, verifySignature } from '@fleetgate/core/signature/verify';
import { ProtocolError } from '@fleetgate/protocol/errors';
import {
  decodeBatch,
  decodeEnvelope,
  type Signature,
  SignatureAlgorithm,
  TELEMETRY_PAYLOAD_TYPE,
  type TelemetryBatch,
} from '@fleetgate/protocol/telemetry';
import type { GatewayConfig } from '../config/config.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { PeerIdentity } from '../pki/peer-identity.ts';
import type { DeviceKeySet } from './device-keys/keyring.ts';

export interface VerifiedBatch {
  counter: bigint;
  batch: TelemetryBatch;
  /** Key id of the strongest verified signature. */
  keyId: string;
  /** Suite of the strongest verified signature. */
  algorithm: SuiteName;
  envelopeSha256: Uint8Array;
  /** Device clock minus server clock (sent_at − now), milliseconds. */
  skewMs: number;
  /** Older than the skew limit: a delayed (spooled) delivery, not a clock reading. */
  delayed: boolean;
}

export interface VerifyOptions {
  /** The vehicle's device keys and policy; absent: the certificate key only, no policy. */
  keys?: DeviceKeySet;
  /** Suites accepted at all; absent: all four. */
  algorithms?: readonly SuiteName[];
}

const SUITE: Readonly<Record<number, SuiteName>> = {
  [SignatureAlgorithm.ED25519]: 'ed25519',
  [SignatureAlgorithm.ECDSA_P256_SHA256]: 'ecdsa-p256-sha256',
  [SignatureAlgorithm.HMAC_SHA256]: 'hmac-sha256',
  [SignatureAlgorithm.ED25519_MLDSA65]: 'ed25519+ml-dsa-65',
};

/** Strength, for choosing which verified signature names the batch: the hybrid first. */
const RANK: Readonly<Record<SuiteName, number>> = {
  'ed25519+ml-dsa-65': 3,
  ed25519: 2,
  'ecdsa-p256-sha256': 2,
  'hmac-sha256': 1,
};

interface Mine {
  suite: SuiteName;
  keyId: string;
  key: VerificationKey;
  signature: Uint8Array;
}

export function verifyEnvelope(
  body: Uint8Array,
  identity: PeerIdentity,
  limits: GatewayConfig['telemetry'],
  now: Date,
  options: VerifyOptions = {},
): VerifiedBatch {
  if (body.byteLength > limits.maxEnvelopeBytes) {
    throw new GatewayError('TELEMETRY_TOO_LARGE', `envelope is larger than ${limits.maxEnvelopeBytes} bytes`);
  }
  const envelope = protocolStep(() => decodeEnvelope(body, { maxBytes: limits.maxEnvelopeBytes }));
  if (envelope.payloadType !== TELEMETRY_PAYLOAD_TYPE) {
    throw new GatewayError('TELEMETRY_MALFORMED', 'unexpected payload type');
  }
  for (const [i, s] of envelope.signatures.entries()) {
    const suite = SUITE[s.algorithm];
    if (suite !== undefined && s.signature.byteLength !== SIGNATURE_LENGTHS[suite]) {
      throw new GatewayError(
        'TELEMETRY_MALFORMED',
        `signatures[${i}]: ${suite} signatures are ${SIGNATURE_LENGTHS[suite]} bytes`,
      );
    }
  }
  const allowed = options.algorithms;
  const offered = envelope.signatures.filter((s) => {
    const suite = SUITE[s.algorithm];
    return suite !== undefined && (allowed === undefined || allowed.includes(suite));
  });
  if (offered.length === 0) {
    throw new GatewayError('TELEMETRY_UNSUPPORTED_ALGORITHM', 'no signature of an accepted suite');
  }
  const mine = offered.flatMap((s) => resolve(s, identity, options.keys));
  if (mine.length === 0) {
    throw new GatewayError('TELEMETRY_UNKNOWN_KEY', 'no signature by a key of this vehicle');
  }
  const required = options.keys?.requiredAlgorithm ?? null;
  if (required !== null && !mine.some((m) => m.suite === required || m.suite === 'ed25519+ml-dsa-65')) {
    throw new GatewayError('TELEMETRY_SIGNATURE_DOWNGRADE', `this vehicle must sign with ${required}`);
  }
  const input = signingInput(envelope.payloadType, envelope.counter, envelope.payload);
  for (const m of mine) {
    if (!verifySignature(m.suite, m.key, input, m.signature)) {
      throw new GatewayError('TELEMETRY_SIGNATURE_INVALID', `the ${m.suite} signature does not verify`);
    }
  }
  const strongest = mine.reduce((a, b) => (RANK[b.suite] > RANK[a.suite] ? b : a));
  const batch = protocolStep(() => decodeBatch(envelope.payload, { maxRecords: limits.maxRecordsPerBatch }));
  if (batch.vehicleId !== identity.id) {
    throw new GatewayError('TELEMETRY_VEHICLE_MISMATCH', 'batch vehicle id differs from the certificate');
  }
  const skewLimitMs = limits.maxClockSkewSeconds * 1000;
  const sentAt = Number(batch.sentAtUnixMs);
  const skewMs = sentAt - now.getTime();
  // In the future beyond the skew limit: a wrong clock, refused. In the past beyond it: a delayed
  // delivery (an offline spool drained after reconnect) — evidence, accepted up to maxBatchAgeSeconds,
  // and not a clock reading (`delayed`: the skew flag ignores it).
  if (!Number.isFinite(sentAt) || skewMs > skewLimitMs) {
    throw new GatewayError(
      'TELEMETRY_CLOCK_SKEW',
      `sent_at is more than ${limits.maxClockSkewSeconds} s ahead of server time`,
    );
  }
  if (-skewMs > limits.maxBatchAgeSeconds * 1000) {
    throw new GatewayError(
      'TELEMETRY_CLOCK_SKEW',
      `sent_at is more than ${limits.maxBatchAgeSeconds} s in the past`,
    );
  }
  const delayed = -skewMs > skewLimitMs;
  for (const record of batch.records) {
    if (Number(record.timeUnixMs) > now.getTime() + skewLimitMs) {
      throw new GatewayError('TELEMETRY_CLOCK_SKEW', 'a record is timed in the future');
    }
  }
  return {
    counter: envelope.counter,
    batch,
    keyId: strongest.keyId,
    algorithm: strongest.suite,
    envelopeSha256: sha256(body),
    skewMs,
    delayed,
  };
}

/** The key of this vehicle that `s` names, if any (none for another vehicle's or an unknown key id). */
function resolve(s: Signature, identity: PeerIdentity, keys: DeviceKeySet | undefined): Mine[] {
  const suite = SUITE[s.algorithm] as SuiteName;
  const mine = (key: KeyObject | VerificationKey | undefined): Mine[] =>
    key === undefined ? [] : [{ suite, keyId: s.keyId, key, signature: s.signature }];
  const certificateKey = s.keyId === identity.keyId ? identity.publicKey : undefined;
  switch (suite) {
    case 'ed25519':
      return mine(certificateKey?.asymmetricKeyType === 'ed25519' ? certificateKey : undefined);
    case 'ecdsa-p256-sha256':
      return mine(certificateKey?.asymmetricKeyType === 'ec' ? certificateKey : keys?.ecdsa.get(s.keyId));
    case 'hmac-sha256':
      return mine(keys?.hmac.get(s.keyId));
    case 'ed25519+ml-dsa-65':
      return mine(keys?.hybridFor(identity.publicKey, identity.keyId).get(s.keyId));
  }
}

function protocolStep<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ProtocolError) {
      const code =
        error.code === 'PROTOCOL_TOO_LARGE' || error.code === 'PROTOCOL_TOO_MANY_RECORDS'
          ? 'TELEMETRY_TOO_LARGE'
          : 'TELEMETRY_MALFORMED';
      throw new GatewayError(code, error.code, { cause: error });
    }
    throw error;
  }
}
