-- Audit log read API (issue 7; docs/audit.md "Read API", "Tiles").
-- Full C2SP tlog-tiles tiles (256 hashes, 8,192 bytes), computed on first read and cached: a full tile
-- never changes, so a CDN and this table can keep it forever. Partial tiles are computed per request.
CREATE TABLE audit_tiles (
  level smallint NOT NULL CHECK (level >= 0 AND level <= 63),
  idx bigint NOT NULL CHECK (idx >= 0),
  hashes bytea NOT NULL CHECK (octet_length(hashes) = 8192),
  PRIMARY KEY (level, idx)
);

-- Inclusion proofs by leaf hash. A hash index: equality only, smaller than a B-tree over 32-byte keys.
CREATE INDEX audit_entries_leaf_hash ON audit_entries USING hash (leaf_hash);
