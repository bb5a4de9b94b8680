/**
 * Issues one access token: a JWT per RFC 9068 (header typ `at+jwt`, ES256 with the key in
 * DIR/pki/oauth/, kid = RFC 7638 thumbprint) with iss, sub (= client_id), aud, client_id, scope, tenant,
 * iat, nbf, exp, jti and `cnf` — `x5t#S256` of the client certificate (RFC 8705 §3.1) or `jkt` of the
 * DPoP key (RFC 9449 §6.1). There is no code path for an unbound token: the binding is a required
 * argument. No refresh token is ever issued.
 *
 * The token's jti is recorded in oauth_tokens (for revocation and suspension) and the `auth.token.issued`
 * audit entry is sequenced in the same transaction: a token exists exactly when both do. The token itself
 * is never stored, logged or audited — only its jti.
 *
 * Signed with node:crypto directly (IEEE P1363 r‖s, RFC 7518 §3.4) over base64url(header).base64url(claims):
 * the input is ours, so no JOSE library is needed to produce it, and a reused KeyObject keeps issuance
 * close to the raw signature rate (bench/oauth-token.ts).
 */
import { randomBytes, sign } from 'node:crypto';
import type { AuditLog } from '../../audit/log.ts';
import type { Store } from '../../store/store.ts';
import type { OAuthClient, Scope } from './client-registry.ts';
import type { TokenSigningKey } from './signing-key.ts';

export type TokenBinding = { kind: 'mtls'; x5tS256: string } | { kind: 'dpop'; jkt: string };

export interface IssueDeps {
  store: Store;
  audit: AuditLog;
  key: TokenSigningKey;
  issuer: string;
  audience: string;
  now: () => Date;
}

export interface IssueRequest {
  client: OAuthClient;
  scopes: readonly Scope[];
  binding: TokenBinding;
  /** For the audit entry: how the client authenticated, its certificate, its address. */
  authMethod: string;
  certSha256?: string;
  address: string;
}

export interface IssuedToken {
  accessToken: string;
  tokenType: 'Bearer' | 'DPoP';
  expiresIn: number;
  scope: string;
  jti: string;
  expiresAt: Date;
}

const b64u = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export async function issueAccessToken(deps: IssueDeps, request: IssueRequest): Promise<IssuedToken> {
  const { client, binding } = request;
  const issuedAt = Math.floor(deps.now().getTime() / 1000);
  const lifetime = client.tokenLifetimeSeconds;
  const jti = randomBytes(16).toString('base64url');
  const scope = request.scopes.join(' ');
  const cnf = binding.kind === 'mtls' ? { 'x5t#S256': binding.x5tS256 } : { jkt: binding.jkt };
  const header = { alg: 'ES256', typ: 'at+jwt', kid: deps.key.kid };
  const claims = {
    iss: deps.issuer,
    sub: client.clientId,
    aud: deps.audience,
    client_id: client.clientId,
    scope,
    tenant: client.tenantId,
    iat: issuedAt,
    nbf: issuedAt,
    exp: issuedAt + lifetime,
    jti,
    cnf,
  };
  const input = `${b64u(header)}.${b64u(claims)}`;
  const signature = sign('sha256', Buffer.from(input), {
    key: deps.key.privateKey,
    dsaEncoding: 'ieee-p1363',
  });
  const accessToken = `${input}.${signature.toString('base64url')}`;
  const expiresAt = new Date((issuedAt + lifetime) * 1000);

  await deps.store.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO oauth_tokens (jti, client_id, issued_at, expires_at, binding) VALUES ($1, $2, $3, $4, $5)`,
      [jti, client.clientId, new Date(issuedAt * 1000), expiresAt, binding.kind],
    );
    await deps.audit.appendInTx(tx, {
      class: 'auth.token.issued',
      actor: {
        kind: 'partner',
        id: client.clientId,
        ...(request.certSha256 === undefined ? {} : { certSha256: request.certSha256 }),
      },
      subject: { kind: 'access-token', id: jti },
      outcome: 'accepted',
      details: {
        tenant: client.tenantId,
        scope,
        binding: binding.kind,
        authMethod: request.authMethod,
        expiresAt: expiresAt.toISOString(),
        address: request.address,
      },
    });
  });
  return {
    accessToken,
    tokenType: binding.kind === 'dpop' ? 'DPoP' : 'Bearer',
    expiresIn: lifetime,
    scope,
    jti,
    expiresAt,
  };
}
