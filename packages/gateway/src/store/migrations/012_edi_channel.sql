-- The EDI X12 channel (issue 6 §6; docs/tendering.md "Transport", "Outbound 990/214 and the outbox",
-- "Duplicates and the sandbox"). Identical on PGlite and PostgreSQL. Every table is tenant data under
-- row-level security like migration 008's: a partner's transaction (app.tenant) sees its own rows, the
-- outbound consumer and the drop-directory exporter run in the operator's scope (app.operator = 'on').

-- Every interchange received, keyed by the sender's ISA05/ISA06 and ISA13 per tenant and usage indicator
-- (ISA15 P or T: test and production number their interchanges separately). Inserted in the same
-- transaction as the tenders it creates, so a replayed ISA13 is refused and nothing is created twice.
CREATE TABLE edi_interchanges (
  tenant_id text NOT NULL,
  sender_qualifier text NOT NULL,
  sender_id text NOT NULL,
  usage text NOT NULL CHECK (usage IN ('P', 'T')),
  control_number text NOT NULL CHECK (control_number ~ '^[0-9]{9}$'),
  partner_id text NOT NULL,
  source text NOT NULL CHECK (source IN ('upload', 'drop')),
  file_sha256 text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
  received_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, sender_qualifier, sender_id, usage, control_number)
);

-- The EDI channel of a tender created from a 204: the shipment id (B204, the tender's reference) and the
-- envelope its 990 and 214s answer in (version, GS08, the partner's GS02).
CREATE TABLE edi_tenders (
  tender_id text PRIMARY KEY REFERENCES tenders (id),
  tenant_id text NOT NULL,
  partner_id text NOT NULL,
  shipment_id text NOT NULL,
  version text NOT NULL CHECK (version IN ('4010', '5010')),
  group_version text NOT NULL,
  application_sender text NOT NULL,
  interchange_control_number text NOT NULL,
  group_control_number text NOT NULL,
  set_control_number text NOT NULL,
  created_at timestamptz NOT NULL
);

-- What we send a partner (997, 990, 214), oldest first; the partner reads it over HTTPS and, with a drop
-- directory, as files (exported_at set once written). source_id makes generation idempotent: the lifecycle
-- change (tenderId:seq:status) a 990/214 answers, or the interchange a 997 acknowledges.
CREATE TABLE edi_outbound (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id text NOT NULL,
  partner_id text NOT NULL,
  message_type text NOT NULL CHECK (message_type IN ('997', '990', '214')),
  tender_id text,
  control_number text NOT NULL CHECK (control_number ~ '^[0-9]{9}$'),
  sandbox boolean NOT NULL,
  source_id text NOT NULL UNIQUE,
  body text NOT NULL,
  created_at timestamptz NOT NULL,
  exported_at timestamptz
);

CREATE INDEX edi_outbound_partner ON edi_outbound (tenant_id, partner_id, id);

CREATE INDEX edi_outbound_unexported ON edi_outbound (id) WHERE exported_at IS NULL;

-- Outbound control numbers (ISA13 = GS06 = ST02 of each message), one counter per partner, advanced in
-- the transaction that stores the message: never reused across restarts or gateway nodes.
CREATE TABLE edi_control_numbers (
  partner_id text PRIMARY KEY,
  tenant_id text NOT NULL,
  last_value bigint NOT NULL CHECK (last_value BETWEEN 0 AND 999999999)
);

ALTER TABLE edi_interchanges ENABLE ROW LEVEL SECURITY;

ALTER TABLE edi_interchanges FORCE ROW LEVEL SECURITY;

CREATE POLICY edi_interchanges_tenant ON edi_interchanges
  USING (tenant_id = current_setting('app.tenant', true))
  WITH CHECK (tenant_id = current_setting('app.tenant', true));

ALTER TABLE edi_tenders ENABLE ROW LEVEL SECURITY;

ALTER TABLE edi_tenders FORCE ROW LEVEL SECURITY;

CREATE POLICY edi_tenders_tenant ON edi_tenders
  USING (tenant_id = current_setting('app.tenant', true))
  WITH CHECK (tenant_id = current_setting('app.tenant', true));

CREATE POLICY edi_tenders_operator ON edi_tenders
  USING (current_setting('app.operator', true) = 'on')
  WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE edi_outbound ENABLE ROW LEVEL SECURITY;

ALTER TABLE edi_outbound FORCE ROW LEVEL SECURITY;

CREATE POLICY edi_outbound_tenant ON edi_outbound
  USING (tenant_id = current_setting('app.tenant', true))
  WITH CHECK (tenant_id = current_setting('app.tenant', true));

CREATE POLICY edi_outbound_operator ON edi_outbound
  USING (current_setting('app.operator', true) = 'on')
  WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE edi_control_numbers ENABLE ROW LEVEL SECURITY;

ALTER TABLE edi_control_numbers FORCE ROW LEVEL SECURITY;

CREATE POLICY edi_control_numbers_tenant ON edi_control_numbers
  USING (tenant_id = current_setting('app.tenant', true))
  WITH CHECK (tenant_id = current_setting('app.tenant', true));

CREATE POLICY edi_control_numbers_operator ON edi_control_numbers
  USING (current_setting('app.operator', true) = 'on')
  WITH CHECK (current_setting('app.operator', true) = 'on');
