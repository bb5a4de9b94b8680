-- fleetgate schema v1. Identical on PGlite and PostgreSQL.
-- uint64 values (device counters, sequence numbers) are numeric(20,0): int8 cannot hold 2^64-1.

-- The audit log (RFC 9162 leaves). idx is dense from 0; appenders hold a table lock for the short tail
-- of their transaction, so indices commit in order and never leave a gap.
CREATE TABLE audit_entries (
  idx bigint PRIMARY KEY CHECK (idx >= 0),
  leaf_hash bytea NOT NULL CHECK (octet_length(leaf_hash) = 32),
  entry text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Signed checkpoints (C2SP signed note) and the compact range of the tree at that size.
CREATE TABLE audit_checkpoints (
  tree_size bigint PRIMARY KEY CHECK (tree_size >= 0),
  root_hash bytea NOT NULL CHECK (octet_length(root_hash) = 32),
  frontier bytea NOT NULL,
  note text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Per-device anti-replay state: highest counter accepted and a bitmap of the window below it.
CREATE TABLE device_replay_state (
  vehicle_id text PRIMARY KEY,
  high_water numeric(20, 0) NOT NULL,
  window_bits bytea NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE telemetry_batches (
  id bigserial PRIMARY KEY,
  vehicle_id text NOT NULL,
  counter numeric(20, 0) NOT NULL,
  load_id text NOT NULL,
  first_sequence numeric(20, 0) NOT NULL,
  record_count integer NOT NULL CHECK (record_count > 0),
  envelope_sha256 bytea NOT NULL,
  key_id text NOT NULL,
  cert_sha256 text NOT NULL,
  device_sent_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  audit_index bigint NOT NULL,
  UNIQUE (vehicle_id, counter)
);

CREATE TABLE telemetry_records (
  batch_id bigint NOT NULL REFERENCES telemetry_batches (id),
  ordinal integer NOT NULL,
  vehicle_id text NOT NULL,
  seq numeric(20, 0) NOT NULL,
  recorded_at timestamptz NOT NULL,
  latitude double precision NOT NULL,
  longitude double precision NOT NULL,
  speed_mps real NOT NULL,
  heading_deg real NOT NULL,
  odometer_m double precision NOT NULL,
  driving_state text NOT NULL,
  faults text[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (batch_id, ordinal)
);

CREATE INDEX telemetry_records_vehicle_time ON telemetry_records (vehicle_id, recorded_at);

-- Every refused batch, with its reason code; nothing from its payload is stored but its digest.
CREATE TABLE telemetry_rejections (
  id bigserial PRIMARY KEY,
  vehicle_id text,
  cert_sha256 text,
  code text NOT NULL,
  detail text NOT NULL,
  envelope_sha256 bytea,
  remote_address text,
  audit_index bigint,
  received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenders (
  id text PRIMARY KEY,
  partner_id text NOT NULL,
  tenant_id text NOT NULL,
  reference text NOT NULL,
  origin text NOT NULL,
  destination text NOT NULL,
  lane_id text,
  equipment text NOT NULL,
  weight_kg integer NOT NULL,
  hazmat boolean NOT NULL,
  pickup_start timestamptz NOT NULL,
  pickup_end timestamptz NOT NULL,
  delivery_end timestamptz NOT NULL,
  status text NOT NULL,
  reason_codes text[] NOT NULL,
  request_sha256 bytea NOT NULL,
  audit_index bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (partner_id, reference)
);

CREATE INDEX tenders_tenant_created ON tenders (tenant_id, created_at);
