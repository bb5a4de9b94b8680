/**
 * Signs a payload into a SignedEnvelope: Ed25519 (RFC 8032) over core's domain-separated
 * signingInput(payloadType, counter, payload), so the signature covers the exact payload bytes,
 * their type and the device counter, and can never be valid for another kind of message or
 * another counter (threats: tampering in transit or at a broker, cross-protocol reuse, replay
 * under a fresh counter).
 *
 * The key id is checked against the private key (once per KeyObject): a mismatched id would
 * make every batch fail verification at the gateway, which is easy to mistake for an attack.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { ed25519Sign, keyIdOf } from '@fleetgate/core/signature/ed25519';
import { signingInput } from '@fleetgate/core/signature/signing-input';
import { encodeEnvelope, SignatureAlgorithm } from '@fleetgate/protocol/telemetry';
import { EdgeError } from './errors.ts';

export interface SignEnvelopeInput {
  /** The encoded payload (e.g. encodeBatch output), signed and sent exactly as given. */
  payload: Uint8Array;
  /** e.g. TELEMETRY_PAYLOAD_TYPE. */
  payloadType: string;
  /** The next value of the device's DurableCounter. */
  counter: bigint;
  /** Ed25519 private key, created once and reused. */
  privateKey: KeyObject;
  /** keyIdOf(publicKey): lower-case hex SHA-256 of the public key's SPKI. */
  keyId: string;
}

const derivedKeyIds = new WeakMap<KeyObject, string>();

/** Returns the encoded SignedEnvelope. */
export function signEnvelope(input: SignEnvelopeInput): Uint8Array {
  const { payload, payloadType, counter, privateKey, keyId } = input;
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new EdgeError('EDGE_INVALID_KEY', 'not an Ed25519 private key');
  }
  let derived = derivedKeyIds.get(privateKey);
  if (derived === undefined) {
    derived = keyIdOf(createPublicKey(privateKey));
    derivedKeyIds.set(privateKey, derived);
  }
  if (derived !== keyId) throw new EdgeError('EDGE_INVALID_KEY', 'keyId does not match the private key');
  let message: Uint8Array;
  try {
    message = signingInput(payloadType, counter, payload);
  } catch (cause) {
    throw new EdgeError('EDGE_INVALID_ARGUMENT', 'payload type or counter cannot be signed', { cause });
  }
  const signature = ed25519Sign(privateKey, message);
  try {
    return encodeEnvelope({
      payload,
      payloadType,
      counter,
      signatures: [{ algorithm: SignatureAlgorithm.ED25519, keyId, signature }],
    });
  } catch (cause) {
    throw new EdgeError('EDGE_INVALID_ARGUMENT', 'envelope would be refused by the gateway', { cause });
  }
}
