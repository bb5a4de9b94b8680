-- Webhooks to TMS partners (issue 6 §5; docs/tendering.md "Webhooks"; src/webhooks/). Identical on PGlite
-- and PostgreSQL.
--
-- webhook_endpoints: a partner's receiver URL, the event types it wants (NULL: all) and its signing
-- secret, stored only sealed (AES-256-GCM under the data directory's key-wrapping key, bound to the
-- endpoint id and the secret's generation). After a rotation the previous secret keeps signing alongside
-- the new one until previous_secret_expires_at.
--
-- webhook_deliveries: one row per (endpoint, lifecycle change), created by the dispatcher in the same
-- transaction that advances its feed cursor (feed_cursors, consumer 'webhooks'), so a change is never lost
-- and never fanned out twice (UNIQUE). message_id is the change id, sent as webhook-id. The payload bytes
-- are fixed at creation. status: pending (due at next_attempt_at; lease_until set while a node is sending
-- it), delivered, dead (attempts exhausted: the dead-letter list), cancelled (endpoint deleted).
-- attempts counts the current series (a redelivery starts a new one), total_attempts all of them.
--
-- webhook_attempts: every attempt, with its HTTP status or error code and duration.
--
-- Row-level security exactly as the tender tables (migration 008): a partner's transaction sees its
-- tenant's rows only; the dispatcher works in the operator's scope.
CREATE TABLE webhook_endpoints (
  id text PRIMARY KEY,
  tenant_id text NOT NULL,
  partner_id text NOT NULL,
  url text NOT NULL CHECK (length(url) BETWEEN 9 AND 2048),
  event_types text[],
  status text NOT NULL CHECK (status IN ('active', 'deleted')),
  secret_generation integer NOT NULL CHECK (secret_generation >= 1),
  secret_sealed text NOT NULL,
  previous_secret_sealed text,
  previous_secret_expires_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE INDEX webhook_endpoints_partner ON webhook_endpoints (tenant_id, partner_id, status);

CREATE TABLE webhook_deliveries (
  id text PRIMARY KEY,
  tenant_id text NOT NULL,
  partner_id text NOT NULL,
  endpoint_id text NOT NULL REFERENCES webhook_endpoints (id),
  message_id text NOT NULL,
  event_type text NOT NULL,
  payload text NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead', 'cancelled')),
  series integer NOT NULL DEFAULT 1,
  attempts integer NOT NULL DEFAULT 0,
  total_attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  lease_until timestamptz,
  last_status_code integer,
  last_error text,
  audit_index bigint NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (endpoint_id, message_id)
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

CREATE INDEX webhook_deliveries_partner ON webhook_deliveries (tenant_id, partner_id, status, created_at, id);

CREATE TABLE webhook_attempts (
  delivery_id text NOT NULL REFERENCES webhook_deliveries (id),
  n integer NOT NULL CHECK (n >= 1),
  series integer NOT NULL,
  tenant_id text NOT NULL,
  attempted_at timestamptz NOT NULL,
  duration_ms integer NOT NULL,
  status_code integer,
  error_code text,
  PRIMARY KEY (delivery_id, n)
);

ALTER TABLE webhook_endpoints ENABLE ROW LEVEL SECURITY;

ALTER TABLE webhook_endpoints FORCE ROW LEVEL SECURITY;

CREATE POLICY webhook_endpoints_tenant ON webhook_endpoints
  USING (tenant_id = current_setting('app.tenant', true))
  WITH CHECK (tenant_id = current_setting('app.tenant', true));

CREATE POLICY webhook_endpoints_operator ON webhook_endpoints
  USING (current_setting('app.operator', true) = 'on')
  WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;

ALTER TABLE webhook_deliveries FORCE ROW LEVEL SECURITY;

CREATE POLICY webhook_deliveries_tenant ON webhook_deliveries
  USING (tenant_id = current_setting('app.tenant', true))
  WITH CHECK (tenant_id = current_setting('app.tenant', true));

CREATE POLICY webhook_deliveries_operator ON webhook_deliveries
  USING (current_setting('app.operator', true) = 'on')
  WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE webhook_attempts ENABLE ROW LEVEL SECURITY;

ALTER TABLE webhook_attempts FORCE ROW LEVEL SECURITY;

CREATE POLICY webhook_attempts_tenant ON webhook_attempts
  USING (tenant_id = current_setting('app.tenant', true))
  WITH CHECK (tenant_id = current_setting('app.tenant', true));

CREATE POLICY webhook_attempts_operator ON webhook_attempts
  USING (current_setting('app.operator', true) = 'on')
  WITH CHECK (current_setting('app.operator', true) = 'on');
