/**
 * Lists a vehicle's device keys and its signature policy, for `fleetgate device keys list` and tests.
 * Never returns secret material: an HMAC key shows its id, algorithm and status only.
 */
import type { Queryable } from '../../store/store.ts';
import type { DeviceKeyAlgorithm } from './register.ts';

export interface DeviceKeyInfo {
  keyId: string;
  vehicleId: string;
  algorithm: DeviceKeyAlgorithm;
  status: 'active' | 'revoked';
  createdAt: Date;
  revokedAt: Date | null;
}

export interface VehicleKeys {
  vehicleId: string;
  requiredAlgorithm: string | null;
  keys: DeviceKeyInfo[];
}

export async function listDeviceKeys(db: Queryable, vehicleId: string): Promise<VehicleKeys> {
  const rows = await db.query<{
    key_id: string;
    algorithm: DeviceKeyAlgorithm;
    status: 'active' | 'revoked';
    created_at: Date;
    revoked_at: Date | null;
  }>(
    `SELECT key_id, algorithm, status, created_at, revoked_at FROM device_keys
     WHERE vehicle_id = $1 ORDER BY created_at, key_id`,
    [vehicleId],
  );
  const [policy] = await db.query<{ required_algorithm: string }>(
    'SELECT required_algorithm FROM device_signature_policies WHERE vehicle_id = $1',
    [vehicleId],
  );
  return {
    vehicleId,
    requiredAlgorithm: policy?.required_algorithm ?? null,
    keys: rows.map((r) => ({
      keyId: r.key_id,
      vehicleId,
      algorithm: r.algorithm,
      status: r.status,
      createdAt: new Date(r.created_at),
      revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at),
    })),
  };
}
