-- Tender lifecycle, idempotency keys and tenant isolation by row-level security (issue 6, part B;
-- docs/tendering.md). Identical on PGlite and PostgreSQL.
--
-- Row-level security: every tenant table admits a row only when it belongs to the tenant named by the
-- transaction-local setting app.tenant (SET LOCAL by tendering/tenant-scope.ts inside each request's
-- transaction), or when the transaction is the fleet operator's (app.operator = 'on': review queue, fleet
-- events, capacity). Without either setting a query sees nothing and writes nothing. FORCE applies the
-- policies to the table owner too; superusers bypass every policy, so the gateway switches to the
-- unprivileged role fleetgate_app inside such transactions when it connects as one (tenant-scope.ts).

-- The tender as tendered (canonical JSON of the accepted request: stops, rate, references), the truck and
-- fleet load id once dispatched, the status held before an exception (to resume to), who decided.
ALTER TABLE tenders ADD COLUMN request_json text NOT NULL DEFAULT '{}';

ALTER TABLE tenders ADD COLUMN vehicle_id text;

ALTER TABLE tenders ADD COLUMN load_id text;

ALTER TABLE tenders ADD COLUMN resume_status text;

ALTER TABLE tenders ADD COLUMN decided_by text NOT NULL DEFAULT 'engine' CHECK (decided_by IN ('engine', 'operator'));

CREATE INDEX tenders_tenant_status ON tenders (tenant_id, status, id);

CREATE INDEX tenders_status ON tenders (status, created_at);

-- Every transition, timestamped: from_status is NULL for the first row (received).
CREATE TABLE tender_status_history (
  tender_id text NOT NULL REFERENCES tenders (id),
  seq integer NOT NULL CHECK (seq >= 0),
  tenant_id text NOT NULL,
  from_status text,
  to_status text NOT NULL,
  event text NOT NULL,
  actor_kind text NOT NULL CHECK (actor_kind IN ('partner', 'operator', 'system')),
  actor_id text NOT NULL,
  reason text,
  occurred_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL,
  audit_index bigint NOT NULL,
  PRIMARY KEY (tender_id, seq)
);

CREATE INDEX tender_status_history_tenant ON tender_status_history (tenant_id, tender_id);

-- Idempotency-Key of POST /v1/tenders, per client: the SHA-256 of the request body it was first used with
-- and the response given, replayed for the same body until expires_at.
CREATE TABLE idempotency_keys (
  client_id text NOT NULL,
  idem_key text NOT NULL CHECK (length(idem_key) BETWEEN 1 AND 255),
  tenant_id text NOT NULL,
  request_sha256 text NOT NULL CHECK (request_sha256 ~ '^[0-9a-f]{64}$'),
  response_status integer NOT NULL,
  response_body text NOT NULL,
  tender_id text,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (client_id, idem_key)
);

CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- Fleet capacity: one row per tender holding a truck for [starts_at, ends_at). Not tenant data (an opaque
-- tender id and a window), so not under row-level security: the engine counts every tenant's bookings.
CREATE TABLE capacity_bookings (
  tender_id text PRIMARY KEY,
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  active boolean NOT NULL DEFAULT true,
  CHECK (ends_at > starts_at)
);

CREATE INDEX capacity_bookings_window ON capacity_bookings (starts_at, ends_at) WHERE active;

ALTER TABLE tenders ENABLE ROW LEVEL SECURITY;

ALTER TABLE tenders FORCE ROW LEVEL SECURITY;

CREATE POLICY tenders_tenant ON tenders
  USING (tenant_id = current_setting('app.tenant', true))
  WITH CHECK (tenant_id = current_setting('app.tenant', true));

CREATE POLICY tenders_operator ON tenders
  USING (current_setting('app.operator', true) = 'on')
  WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE tender_status_history ENABLE ROW LEVEL SECURITY;

ALTER TABLE tender_status_history FORCE ROW LEVEL SECURITY;

CREATE POLICY tender_status_history_tenant ON tender_status_history
  USING (tenant_id = current_setting('app.tenant', true))
  WITH CHECK (tenant_id = current_setting('app.tenant', true));

CREATE POLICY tender_status_history_operator ON tender_status_history
  USING (current_setting('app.operator', true) = 'on')
  WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;

ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;

CREATE POLICY idempotency_keys_tenant ON idempotency_keys
  USING (tenant_id = current_setting('app.tenant', true))
  WITH CHECK (tenant_id = current_setting('app.tenant', true));
