/**
 * Registers a device key beside a vehicle's certificate key (issue 5; docs/telemetry.md "Device keys"):
 *
 *   ecdsa-p256-sha256  a P-256 public key (FIPS 186-5), for secure elements that only do NIST curves;
 *   ed25519+ml-dsa-65  the ML-DSA-65 public key (FIPS 204) of the hybrid, whose Ed25519 half is always the
 *                      certificate key — so the post-quantum half is bound to the certified identity;
 *   hmac-sha256        a per-device secret of 32 to 64 bytes (RFC 2104), for constrained ECUs, stored only
 *                      wrapped under the gateway's key-wrapping key (kek.ts).
 *
 * One transaction inserts the row and sequences its audit entry (never the secret, only the key id).
 * Threats: a key registered for two vehicles (then one vehicle's key could sign for another) — a key id
 * names one key of one vehicle, and registering it again is refused; a weak or wrong-type key (an
 * ML-DSA-44 key, a P-384 key, a short HMAC secret) — refused by type and size; a secret in a log or an
 * audit entry — neither ever sees it; an HMAC key id derived from the secret (a brute-force oracle) —
 * HMAC key ids are random.
 */
import { type KeyObject, randomBytes } from 'node:crypto';
import { toHex } from '@fleetgate/core/bytes';
import { keyIdOf } from '@fleetgate/core/signature/ed25519';
import { HMAC_SHA256_MIN_KEY_LENGTH } from '@fleetgate/core/signature/hmac-sha256';
import { mlDsa65KeyIdOf } from '@fleetgate/core/signature/ml-dsa-65';
import type { AuditActor } from '../../audit/event.ts';
import type { AuditLog } from '../../audit/log.ts';
import { ID_PATTERN } from '../../config/config.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { Store } from '../../store/store.ts';
import { type KeyWrappingKey, wrapSecret } from './kek.ts';

export type DeviceKeyAlgorithm = 'ecdsa-p256-sha256' | 'hmac-sha256' | 'ed25519+ml-dsa-65';
export const DEVICE_KEY_ALGORITHMS: readonly DeviceKeyAlgorithm[] = [
  'ecdsa-p256-sha256',
  'hmac-sha256',
  'ed25519+ml-dsa-65',
];
export const HMAC_SECRET_MAX_BYTES = 64;

export interface DeviceKeyDeps {
  store: Store;
  audit: AuditLog;
  /** Needed for hmac-sha256 only (loadOrCreateKek). */
  kek?: KeyWrappingKey;
}

export interface RegisterDeviceKeyInput {
  vehicleId: string;
  algorithm: DeviceKeyAlgorithm;
  /** The P-256 public key (ecdsa-p256-sha256) or the ML-DSA-65 public key (ed25519+ml-dsa-65). */
  publicKey?: KeyObject;
  /** The device secret (hmac-sha256), 32 to 64 bytes. */
  secret?: Uint8Array;
  actor: AuditActor;
}

export interface RegisteredDeviceKey {
  vehicleId: string;
  keyId: string;
  algorithm: DeviceKeyAlgorithm;
  auditIndex: number;
}

interface Material {
  keyId: string;
  publicKey: Uint8Array | null;
  wrapped: Uint8Array | null;
  kekId: string | null;
}

function invalid(detail: string): GatewayError {
  return new GatewayError('REQUEST_INVALID', detail);
}

function publicSpki(key: KeyObject | undefined, type: 'ec' | 'ml-dsa-65'): KeyObject {
  if (key === undefined) throw invalid('a public key is required');
  if (key.asymmetricKeyType !== type)
    throw invalid(`the public key must be ${type === 'ec' ? 'P-256' : 'ML-DSA-65'}`);
  if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw invalid('the EC key must be on P-256');
  if (key.type !== 'public') throw invalid('give the public key, never the private key');
  return key;
}

function material(deps: DeviceKeyDeps, input: RegisterDeviceKeyInput): Material {
  const spki = (k: KeyObject) => new Uint8Array(k.export({ format: 'der', type: 'spki' }));
  switch (input.algorithm) {
    case 'ecdsa-p256-sha256': {
      const key = publicSpki(input.publicKey, 'ec');
      return { keyId: keyIdOf(key), publicKey: spki(key), wrapped: null, kekId: null };
    }
    case 'ed25519+ml-dsa-65': {
      const key = publicSpki(input.publicKey, 'ml-dsa-65');
      return { keyId: mlDsa65KeyIdOf(key), publicKey: spki(key), wrapped: null, kekId: null };
    }
    case 'hmac-sha256': {
      const secret = input.secret;
      if (
        !(secret instanceof Uint8Array) ||
        secret.byteLength < HMAC_SHA256_MIN_KEY_LENGTH ||
        secret.byteLength > HMAC_SECRET_MAX_BYTES
      ) {
        throw invalid(
          `an HMAC-SHA256 secret of ${HMAC_SHA256_MIN_KEY_LENGTH} to ${HMAC_SECRET_MAX_BYTES} bytes is required`,
        );
      }
      if (deps.kek === undefined) throw invalid('no key-wrapping key to store an HMAC secret under');
      const keyId = toHex(randomBytes(32));
      const wrapped = wrapSecret(deps.kek, secret, { vehicleId: input.vehicleId, keyId });
      return { keyId, publicKey: null, wrapped, kekId: deps.kek.id };
    }
    default:
      throw invalid('unknown device key algorithm');
  }
}

export async function registerDeviceKey(
  deps: DeviceKeyDeps,
  input: RegisterDeviceKeyInput,
): Promise<RegisteredDeviceKey> {
  if (typeof input.vehicleId !== 'string' || !ID_PATTERN.test(input.vehicleId))
    throw invalid('invalid vehicle id');
  if (!DEVICE_KEY_ALGORITHMS.includes(input.algorithm)) throw invalid('unknown device key algorithm');
  const m = material(deps, input);
  return deps.store.transaction(async (tx) => {
    const inserted = await tx.query<{ key_id: string }>(
      `INSERT INTO device_keys (key_id, vehicle_id, algorithm, public_key, wrapped_secret, kek_id)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key_id) DO NOTHING RETURNING key_id`,
      [m.keyId, input.vehicleId, input.algorithm, m.publicKey, m.wrapped, m.kekId],
    );
    if (inserted.length === 0) throw invalid(`key ${m.keyId} is already registered`);
    const receipt = await deps.audit.appendInTx(tx, {
      class: 'telemetry.device-key.registered',
      actor: input.actor,
      subject: { kind: 'device-key', id: m.keyId },
      outcome: 'recorded',
      details: { vehicleId: input.vehicleId, algorithm: input.algorithm },
    });
    return {
      vehicleId: input.vehicleId,
      keyId: m.keyId,
      algorithm: input.algorithm,
      auditIndex: receipt.index,
    };
  });
}
