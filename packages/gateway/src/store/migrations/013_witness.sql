-- Witness cosignatures of audit checkpoints (issue 7 §6; docs/audit.md "Witness", C2SP tlog-witness and
-- tlog-cosignature). Per configured witness, the size of the latest checkpoint it cosigned (or told us,
-- with a 409, that it holds): the old size of the next add-checkpoint request.
CREATE TABLE audit_witness_state (
  witness text PRIMARY KEY CHECK (length(witness) BETWEEN 1 AND 256),
  tree_size bigint NOT NULL CHECK (tree_size >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The cosignature lines, each verified with the configured witness vkey before it is stored, appended to
-- the served checkpoint of that size. One line per witness and size.
CREATE TABLE audit_cosignatures (
  tree_size bigint NOT NULL CHECK (tree_size >= 0),
  witness text NOT NULL CHECK (length(witness) BETWEEN 1 AND 256),
  signature_line text NOT NULL CHECK (length(signature_line) BETWEEN 1 AND 1024),
  cosigned_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tree_size, witness)
);
