-- Enrollment (RFC 7030 EST) and certificate rotation state. Identical on PGlite and PostgreSQL.

-- One-time bootstrap tokens. Only the SHA-256 of a token is stored (the token is 256 random bits, so a
-- fast hash suffices: there is nothing to brute-force). token_id is the public handle printed by the CLI
-- and written to the audit log. A token is spent (used_at) in the transaction that records the
-- certificate it authorised, so it can never authorise two.
CREATE TABLE enrollment_tokens (
  token_sha256 text PRIMARY KEY CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
  token_id text NOT NULL UNIQUE CHECK (token_id ~ '^[0-9a-f]{16}$'),
  vehicle_id text NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  used_serial text,
  CHECK (expires_at > created_at)
);

CREATE INDEX enrollment_tokens_vehicle ON enrollment_tokens (vehicle_id, created_at);

-- Which tenant a vehicle belongs to (for `fleetgate device rotate --tenant`); set when a bootstrap token
-- is created. Vehicles without a row belong to the tenant 'default'.
CREATE TABLE vehicle_registrations (
  vehicle_id text PRIMARY KEY,
  tenant text NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE INDEX vehicle_registrations_tenant ON vehicle_registrations (tenant);

-- One row per certificate that is being (or was) rotated away from. due_at is when its renewal became
-- due (renewAtFraction of its lifetime) or when a forced rotation was ordered; successor_* records the
-- certificate that replaced it; revoke_after is the end of the overlap, after which the rotation job
-- revokes it as superseded. The mean time to rotation is successor_issued_at - due_at.
CREATE TABLE certificate_rotations (
  serial_number text PRIMARY KEY,
  vehicle_id text NOT NULL,
  due_at timestamptz NOT NULL,
  forced boolean NOT NULL DEFAULT false,
  forced_reason text,
  successor_serial text,
  successor_issued_at timestamptz,
  revoke_after timestamptz,
  revoked_at timestamptz
);

CREATE INDEX certificate_rotations_pending ON certificate_rotations (revoke_after) WHERE revoked_at IS NULL;

CREATE INDEX certificate_rotations_vehicle ON certificate_rotations (vehicle_id);
