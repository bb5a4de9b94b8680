-- Revocation (docs/pki.md#revocation): the latest CRL of each issuing CA, shared by every gateway node on
-- one store. The row is locked while a node signs the next CRL, so CRL numbers strictly increase across
-- nodes (RFC 5280 §5.2.3) and a revocation made on one node is published once, by whichever node sees it
-- first. `entries_digest` is the SHA-256 of the entries the CRL lists; a different digest means reissue.
CREATE TABLE crl_state (
  issuer_sha256 text PRIMARY KEY,
  crl_number bigint NOT NULL DEFAULT 0 CHECK (crl_number >= 0),
  this_update timestamptz,
  next_update timestamptz,
  entries_digest text,
  der bytea
);
