-- The authorization server (issue 4; docs/auth.md "Authorization server"). Identical on PGlite and
-- PostgreSQL. Times are written by the gateway from its (injectable) clock, never by now() defaults alone.

-- OAuth clients = TMS partners. One tenant each. auth_method is how the client authenticates at the token
-- endpoint; tls_client_auth_san_uri holds the SAN URI the client certificate must carry
-- (urn:fleetgate:partner:<id>) for tls_client_auth, or the base64url SHA-256 thumbprint of the registered
-- certificate for self_signed_tls_client_auth. jwks holds public keys (private_key_jwt; self-signed
-- certificates in x5c). policy is JSON: { lanes?, equipment?, timeWindows? } (auth/policy/).
CREATE TABLE oauth_clients (
  client_id text PRIMARY KEY,
  tenant_id text NOT NULL,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  auth_method text NOT NULL
    CHECK (auth_method IN ('tls_client_auth', 'self_signed_tls_client_auth', 'private_key_jwt')),
  tls_client_auth_san_uri text,
  jwks text,
  scopes text[] NOT NULL,
  token_lifetime_seconds integer NOT NULL DEFAULT 300
    CHECK (token_lifetime_seconds BETWEEN 30 AND 3600),
  policy text NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  suspended_at timestamptz
);

-- Every access token issued, by jti: revocation (RFC 7009) and suspension set revoked_at, and resource
-- servers on every node refuse such a jti. Rows are purged a day after they expire.
CREATE TABLE oauth_tokens (
  jti text PRIMARY KEY,
  client_id text NOT NULL REFERENCES oauth_clients (client_id),
  issued_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  binding text NOT NULL CHECK (binding IN ('mtls', 'dpop')),
  revoked_at timestamptz
);

CREATE INDEX oauth_tokens_client_live ON oauth_tokens (client_id) WHERE revoked_at IS NULL;

CREATE INDEX oauth_tokens_expiry ON oauth_tokens (expires_at);

-- One-time values seen at the token endpoint: client assertion jti (RFC 7523 §3 item 7) per client, and
-- token-endpoint DPoP proof jti (RFC 9449 §11.1) per key thumbprint. Shared by every node.
CREATE TABLE oauth_replay (
  kind text NOT NULL CHECK (kind IN ('assertion', 'dpop')),
  issuer text NOT NULL,
  jti text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (kind, issuer, jti)
);

CREATE INDEX oauth_replay_expiry ON oauth_replay (expires_at);

-- Failed client authentications per claimed client id ('client:<id>') and per remote address
-- ('address:<ip>'): consecutive failures and the end of the current lockout.
CREATE TABLE oauth_auth_failures (
  subject text PRIMARY KEY,
  failures integer NOT NULL CHECK (failures >= 0),
  locked_until timestamptz,
  last_failure_at timestamptz NOT NULL
);
