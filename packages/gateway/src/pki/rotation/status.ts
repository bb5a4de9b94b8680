/**
 * What an operator needs to see about one vehicle's certificates (`fleetgate device show`): each
 * certificate with its rotation state — when renewal fell due or was forced, its successor, the end of
 * the overlap, when it was revoked — the vehicle's tenant, and its bootstrap tokens by id (never the
 * token: only its hash is stored). Read-only.
 */
import type { Queryable } from '../../store/store.ts';

export interface RotationState {
  readonly serialNumber: string;
  readonly dueAt: Date;
  readonly forced: boolean;
  readonly forcedReason: string | null;
  readonly successorSerial: string | null;
  readonly successorIssuedAt: Date | null;
  readonly revokeAfter: Date | null;
  readonly revokedAt: Date | null;
}

export interface TokenSummary {
  readonly tokenId: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
  readonly usedSerial: string | null;
  readonly createdBy: string;
}

export interface VehicleRotationStatus {
  readonly vehicleId: string;
  /** From `device enroll --tenant`; 'default' when never set. */
  readonly tenant: string;
  readonly rotations: readonly RotationState[];
  readonly tokens: readonly TokenSummary[];
}

interface RotationRow {
  serial_number: string;
  due_at: Date;
  forced: boolean;
  forced_reason: string | null;
  successor_serial: string | null;
  successor_issued_at: Date | null;
  revoke_after: Date | null;
  revoked_at: Date | null;
  [key: string]: unknown;
}

interface TokenRow {
  token_id: string;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
  used_serial: string | null;
  created_by: string;
  [key: string]: unknown;
}

export async function vehicleRotationStatus(q: Queryable, vehicleId: string): Promise<VehicleRotationStatus> {
  const [registration] = await q.query<{ tenant: string }>(
    'SELECT tenant FROM vehicle_registrations WHERE vehicle_id = $1',
    [vehicleId],
  );
  const rotations = await q.query<RotationRow>(
    `SELECT serial_number, due_at, forced, forced_reason, successor_serial, successor_issued_at, revoke_after,
            revoked_at FROM certificate_rotations WHERE vehicle_id = $1 ORDER BY due_at, serial_number`,
    [vehicleId],
  );
  const tokens = await q.query<TokenRow>(
    `SELECT token_id, created_at, expires_at, used_at, used_serial, created_by FROM enrollment_tokens
      WHERE vehicle_id = $1 ORDER BY created_at, token_id`,
    [vehicleId],
  );
  return {
    vehicleId,
    tenant: registration?.tenant ?? 'default',
    rotations: rotations.map((r) => ({
      serialNumber: r.serial_number,
      dueAt: r.due_at,
      forced: r.forced,
      forcedReason: r.forced_reason,
      successorSerial: r.successor_serial,
      successorIssuedAt: r.successor_issued_at,
      revokeAfter: r.revoke_after,
      revokedAt: r.revoked_at,
    })),
    tokens: tokens.map((t) => ({
      tokenId: t.token_id,
      createdAt: t.created_at,
      expiresAt: t.expires_at,
      usedAt: t.used_at,
      usedSerial: t.used_serial,
      createdBy: t.created_by,
    })),
  };
}
