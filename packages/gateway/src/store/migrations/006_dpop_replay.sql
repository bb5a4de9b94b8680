-- DPoP proof replay cache (RFC 9449 §11.1): one row per (key thumbprint, proof jti) accepted by any gateway
-- node, kept until the proof could no longer pass the iat window. The primary key makes a replayed proof
-- fail atomically on every node sharing the store; expired rows are deleted by the resource server.
CREATE TABLE dpop_jti (
  jkt text NOT NULL CHECK (length(jkt) BETWEEN 1 AND 128),
  jti text NOT NULL CHECK (length(jti) BETWEEN 1 AND 256),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (jkt, jti)
);

CREATE INDEX dpop_jti_expires ON dpop_jti (expires_at);
