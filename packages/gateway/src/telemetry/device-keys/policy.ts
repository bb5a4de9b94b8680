/**
 * Sets (or clears) a vehicle's signature policy (docs/telemetry.md "Signature suites"): the suite every
 * envelope of the vehicle must carry a valid signature of. An envelope without one — a hybrid stripped to
 * its Ed25519 half, an HMAC tag where ECDSA is required — is refused as TELEMETRY_SIGNATURE_DOWNGRADE,
 * before any signature is verified. A valid hybrid Ed25519 + ML-DSA-65 signature satisfies every policy:
 * it is the strongest suite. null clears the policy (any registered suite is accepted).
 *
 * Threat: downgrade — an attacker who can only forge the weaker suite (a leaked HMAC secret, a future
 * break of Ed25519 alone) must not get batches accepted from a vehicle that signs with a stronger one.
 * One transaction with its audit entry; effective on every node within `telemetryIngest.deviceKeyCacheMs`.
 */
import type { SignatureAlgorithm } from '@fleetgate/core/signature/algorithm';
import { isSignatureAlgorithm } from '@fleetgate/core/signature/algorithm';
import type { AuditActor } from '../../audit/event.ts';
import { ID_PATTERN } from '../../config/config.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { DeviceKeyDeps } from './register.ts';

export interface SetSignaturePolicyInput {
  vehicleId: string;
  requiredAlgorithm: SignatureAlgorithm | null;
  actor: AuditActor;
}

export async function setSignaturePolicy(
  deps: Pick<DeviceKeyDeps, 'store' | 'audit'>,
  input: SetSignaturePolicyInput,
): Promise<{ auditIndex: number }> {
  if (!ID_PATTERN.test(input.vehicleId)) throw new GatewayError('REQUEST_INVALID', 'invalid vehicle id');
  const required = input.requiredAlgorithm;
  if (required !== null && !isSignatureAlgorithm(required)) {
    throw new GatewayError('REQUEST_INVALID', 'unknown signature algorithm');
  }
  return deps.store.transaction(async (tx) => {
    if (required === null) {
      await tx.query('DELETE FROM device_signature_policies WHERE vehicle_id = $1', [input.vehicleId]);
    } else {
      await tx.query(
        `INSERT INTO device_signature_policies (vehicle_id, required_algorithm) VALUES ($1, $2)
         ON CONFLICT (vehicle_id) DO UPDATE SET required_algorithm = $2, updated_at = now()`,
        [input.vehicleId, required],
      );
    }
    const receipt = await deps.audit.appendInTx(tx, {
      class: 'telemetry.device-policy.set',
      actor: input.actor,
      subject: { kind: 'vehicle', id: input.vehicleId },
      outcome: 'recorded',
      details: { requiredAlgorithm: required ?? 'any' },
    });
    return { auditIndex: receipt.index };
  });
}
