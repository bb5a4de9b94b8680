-- Certificate inventory: every certificate the fleetgate CA issued, with its subject and status. The
-- source for revocation (CRL, OCSP, connection enforcement), rotation and `fleetgate device list`.
CREATE TABLE certificates (
  serial_number text PRIMARY KEY CHECK (serial_number ~ '^[0-9a-f]{2,40}$'),
  issuer_sha256 text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('vehicle', 'partner', 'server', 'ca')),
  subject_id text NOT NULL,
  thumbprint_sha256 text NOT NULL UNIQUE,
  key_id text NOT NULL,
  not_before timestamptz NOT NULL,
  not_after timestamptz NOT NULL,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  revoked_at timestamptz,
  revocation_reason text,
  replaced_by text,
  issued_at timestamptz NOT NULL DEFAULT now(),
  pem text NOT NULL
);

CREATE INDEX certificates_subject ON certificates (kind, subject_id);

CREATE INDEX certificates_status ON certificates (status, revoked_at);
