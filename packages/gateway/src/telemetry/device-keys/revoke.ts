/**
 * Revokes a device key (docs/telemetry.md "Device keys"): the row stays, with its status and time, so
 * stored batches keep naming a known key; the key stops verifying on every gateway node within
 * `telemetryIngest.deviceKeyCacheMs` (each node re-reads a vehicle's keys at most that long after it last
 * did). One transaction marks the row and sequences the audit entry. Idempotent: revoking a revoked key
 * changes nothing and reports it.
 *
 * Threat: a compromised device key (an extracted HMAC secret, a cloned secure element) signing on — it is
 * refused as TELEMETRY_UNKNOWN_KEY once revoked. The key id must belong to the named vehicle, so a
 * mistyped id cannot revoke another vehicle's key.
 */
import type { AuditActor } from '../../audit/event.ts';
import { ID_PATTERN } from '../../config/config.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { DeviceKeyDeps } from './register.ts';

export interface RevokeDeviceKeyInput {
  vehicleId: string;
  keyId: string;
  actor: AuditActor;
}

export interface RevokeDeviceKeyResult {
  alreadyRevoked: boolean;
  auditIndex: number | null;
}

export async function revokeDeviceKey(
  deps: Pick<DeviceKeyDeps, 'store' | 'audit'>,
  input: RevokeDeviceKeyInput,
): Promise<RevokeDeviceKeyResult> {
  if (!ID_PATTERN.test(input.vehicleId)) throw new GatewayError('REQUEST_INVALID', 'invalid vehicle id');
  if (!/^[0-9a-f]{64}$/.test(input.keyId)) throw new GatewayError('REQUEST_INVALID', 'invalid key id');
  return deps.store.transaction(async (tx) => {
    const [row] = await tx.query<{ status: string; algorithm: string }>(
      'SELECT status, algorithm FROM device_keys WHERE key_id = $1 AND vehicle_id = $2 FOR UPDATE',
      [input.keyId, input.vehicleId],
    );
    if (row === undefined) {
      throw new GatewayError('REQUEST_INVALID', `vehicle ${input.vehicleId} has no key ${input.keyId}`);
    }
    if (row.status === 'revoked') return { alreadyRevoked: true, auditIndex: null };
    await tx.query("UPDATE device_keys SET status = 'revoked', revoked_at = now() WHERE key_id = $1", [
      input.keyId,
    ]);
    const receipt = await deps.audit.appendInTx(tx, {
      class: 'telemetry.device-key.revoked',
      actor: input.actor,
      subject: { kind: 'device-key', id: input.keyId },
      outcome: 'recorded',
      details: { vehicleId: input.vehicleId, algorithm: row.algorithm },
    });
    return { alreadyRevoked: false, auditIndex: receipt.index };
  });
}
