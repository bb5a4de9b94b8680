/**
 * The resource server: `authorize(request, { scope })` decides whether a control-plane request carries a
 * valid, sender-constrained access token for `scope`, and yields the AuthContext routes act on. It runs
 * as a fastify hook on every control-plane route except /oauth/* (`hook()`). The steps, in order:
 *
 *   1. the connection's certificate names a partner registered as an OAuth client (else 403
 *      AUTH_IDENTITY_NOT_ALLOWED, as before tokens existed);
 *   2. exactly one `Authorization: Bearer|DPoP <token>` (credentials.ts);
 *   3. the token verifies (verify-access-token.ts) and was issued to that same partner;
 *   4. the binding holds — RFC 8705 §3: `cnf.x5t#S256` is the SHA-256 of *this connection's* client
 *      certificate; RFC 9449 §7.1: a `cnf.jkt` token comes with the DPoP scheme (never as Bearer) and a
 *      DPoP proof (verify-dpop-proof.ts) whose key thumbprint is `cnf.jkt`;
 *   5. the store says the client is active, the token is not revoked (fleetgate's tokens must have an
 *      issue record), and the token's tenant is the client's (client-state.ts, ≤ 1 s old);
 *   6. `scope` is among the token's scopes that the client still holds (else 403 insufficient_scope);
 *   7. the client's policy parses (auth/policy/policy.ts), to be enforced by the route;
 *   8. the DPoP proof's jti is recorded in the shared replay cache — last, so refused requests write
 *      nothing — and a replay is refused.
 *
 * Every refusal is appended to the audit log (`auth.token.refused`, reason = the code; the token only as
 * a SHA-256 digest) and answered with problem+json, the RFC 6750 / RFC 9449 WWW-Authenticate challenge
 * and, for DPoP, a fresh `DPoP-Nonce`.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { AuditActor } from '../../audit/event.ts';
import type { AuditLog } from '../../audit/log.ts';
import type { ResourceServerConfig } from '../../config/config.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { sendProblem } from '../../http/common.ts';
import { peerIdentity } from '../../http/peer.ts';
import type { PeerIdentity } from '../../pki/peer-identity.ts';
import type { Store } from '../../store/store.ts';
import { type ClientPolicy, parseClientPolicy } from '../policy/policy.ts';
import type { Scope } from '../server/client-registry.ts';
import type { DpopNonces } from '../server/dpop-nonce.ts';
import { ClientStateCache } from './client-state.ts';
import { readCredentials } from './credentials.ts';
import { DpopReplayCache } from './dpop-replay.ts';
import { AuthRefusal, type AuthScheme, challengesFor } from './refusal.ts';
import type { TokenIssuer } from './token-issuer.ts';
import { type AccessToken, verifyAccessToken } from './verify-access-token.ts';
import { type DpopProof, verifyDpopProof } from './verify-dpop-proof.ts';

export type { Scope };

export interface AuthContext {
  clientId: string;
  tenant: string;
  /** The token's scopes that the client still holds. */
  scopes: readonly string[];
  binding: 'mtls' | 'dpop';
  policy: ClientPolicy;
  /** Hex SHA-256 of the connection's client certificate. */
  certSha256: string;
  /** The token's jti. */
  tokenId: string;
  issuer: string;
}

/** The parts of a fastify request the resource server reads. */
export interface AuthRequest {
  raw: IncomingMessage | Http2ServerRequest;
  method: string;
  url: string;
  host: string;
  ip: string;
  routeOptions: { url?: string | undefined };
  log: { info(details: object, message: string): void };
}

export interface AuthReply {
  code(statusCode: number): unknown;
  header(key: string, value: string | string[]): unknown;
  type(contentType: string): unknown;
  send(payload: unknown): unknown;
}

export interface ResourceServerDeps {
  store: Store;
  audit: AuditLog;
  now: () => Date;
  config: ResourceServerConfig;
  issuers: readonly TokenIssuer[];
  nonces: DpopNonces;
  /** Told about refusals that could not be audited (store down); never about tokens. */
  onAuditError?: (error: unknown) => void;
}

export interface ResourceServer {
  authorize(request: AuthRequest, options: { scope: Scope }): Promise<AuthContext>;
  /**
   * authorize() as a fastify route hook (the control plane registers it as onRequest, so refused requests
   * are answered before their body is read): answers refusals itself, keeps the context for contextOf().
   */
  hook(options: { scope: Scope }): (request: AuthRequest, reply: AuthReply) => Promise<unknown>;
  /** The AuthContext of a request that passed hook(); throws if there is none (fail closed). */
  contextOf(request: AuthRequest): AuthContext;
}

const base64urlOfHex = (hex: string): string => Buffer.from(hex, 'hex').toString('base64url');

export function createResourceServer(deps: ResourceServerDeps): ResourceServer {
  const { config } = deps;
  const issuers = new Map(deps.issuers.map((i) => [i.issuer, i]));
  const clients = new ClientStateCache(deps.store);
  const replay = new DpopReplayCache(deps.store);
  const contexts = new WeakMap<AuthRequest, AuthContext>();
  const schemes = new WeakMap<AuthRequest, AuthScheme>();

  async function check(
    request: AuthRequest,
    scope: Scope,
    seen: { identity?: PeerIdentity; token?: AccessToken },
  ) {
    // 1. the partner behind the connection
    const identity = peerIdentity(request.raw);
    seen.identity = identity;
    const client = identity.kind === 'partner' ? await clients.client(identity.id) : undefined;
    if (client === undefined)
      throw new GatewayError('AUTH_IDENTITY_NOT_ALLOWED', 'a registered partner certificate is required');

    // 2. credentials, 3. the token
    const credentials = readCredentials(request.raw, config.maxTokenBytes);
    schemes.set(request, credentials.scheme);
    const now = deps.now();
    const token = await verifyAccessToken(credentials.token, {
      issuers,
      now,
      clockSkewSeconds: config.clockSkewSeconds,
      maxTokenBytes: config.maxTokenBytes,
    });
    seen.token = token;
    if (token.clientId !== identity.id)
      throw new AuthRefusal('AUTH_TOKEN_CLIENT_MISMATCH', 'the token was issued to another partner');

    // 4. the binding
    let proof: DpopProof | undefined;
    if (token.binding.kind === 'x5t#S256') {
      if (credentials.scheme === 'DPoP')
        throw new AuthRefusal(
          'AUTH_DPOP_KEY_MISMATCH',
          'the token is bound to a certificate, not a DPoP key',
        );
      if (token.binding.value !== base64urlOfHex(identity.thumbprintSha256))
        throw new AuthRefusal('AUTH_TOKEN_CERT_MISMATCH', 'cnf.x5t#S256 is not this connection certificate');
    } else {
      if (credentials.scheme !== 'DPoP')
        throw new AuthRefusal(
          'AUTH_TOKEN_REQUIRES_DPOP',
          'a DPoP-bound token needs the DPoP scheme and a proof',
        );
      proof = await verifyDpopProof(credentials.proof, {
        method: request.method,
        url: `https://${request.host}${request.url}`,
        accessToken: credentials.token,
        now,
        proofMaxAgeSeconds: config.dpop.proofMaxAgeSeconds,
        clockSkewSeconds: config.clockSkewSeconds,
        algorithms: config.dpop.algorithms,
        nonceValid: config.dpop.nonceRequired ? (n) => deps.nonces.verify(n) : undefined,
      });
      if (proof.jkt !== token.binding.value)
        throw new AuthRefusal('AUTH_DPOP_KEY_MISMATCH', 'the proof key thumbprint is not cnf.jkt');
    }

    // 5. what the store says now
    if (client.status !== 'active') throw new AuthRefusal('AUTH_TOKEN_CLIENT_SUSPENDED');
    const record = await clients.token(token.jti);
    if (record === 'revoked' || (record === 'unknown' && token.issuer.kind === 'local'))
      throw new AuthRefusal(
        'AUTH_TOKEN_REVOKED',
        record === 'unknown' ? 'no issue record for this token' : undefined,
      );
    if (token.tenant !== undefined && token.tenant !== client.tenant)
      throw new AuthRefusal('AUTH_TOKEN_CLAIMS', '"tenant" is not the client tenant');

    // 6. scope
    const scopes = token.scopes.filter((s) => client.scopes.includes(s));
    if (!scopes.includes(scope))
      throw new AuthRefusal('AUTH_SCOPE_INSUFFICIENT', `requires ${scope}`, { scope });

    // 7. policy
    const policy = parseClientPolicy(client.policy);

    // 8. proof replay, last
    if (proof !== undefined) {
      const expiresAt = new Date(
        (proof.iat + config.dpop.proofMaxAgeSeconds + config.clockSkewSeconds) * 1000,
      );
      if (!(await replay.record(proof.jkt, proof.jti, expiresAt, now)))
        throw Object.assign(new AuthRefusal('AUTH_DPOP_REPLAYED', 'this proof jti was already used'), {
          scheme: 'DPoP' as const,
        });
    }
    return {
      clientId: client.clientId,
      tenant: client.tenant,
      scopes,
      binding: proof === undefined ? 'mtls' : 'dpop',
      policy,
      certSha256: identity.thumbprintSha256,
      tokenId: token.jti,
      issuer: token.issuer.issuer,
    } satisfies AuthContext;
  }

  async function auditRefusal(
    request: AuthRequest,
    error: GatewayError,
    seen: { identity?: PeerIdentity; token?: AccessToken },
  ): Promise<void> {
    const actor: AuditActor =
      seen.identity === undefined
        ? { kind: 'system', id: 'unauthenticated' }
        : {
            kind: seen.identity.kind === 'vehicle' ? 'vehicle' : 'partner',
            id: seen.identity.id,
            certSha256: seen.identity.thumbprintSha256,
          };
    const credentials = request.raw.headers.authorization;
    const details: Record<string, string> = { remoteAddress: request.ip };
    const scheme = schemes.get(request);
    if (scheme !== undefined) details.scheme = scheme;
    if (typeof credentials === 'string')
      details.authorizationSha256 = createHash('sha256').update(credentials).digest('hex');
    if (seen.token !== undefined) {
      details.issuer = seen.token.issuer.issuer;
      details.clientId = seen.token.clientId;
      details.tokenId = seen.token.jti;
    }
    try {
      await deps.audit.append({
        class: 'auth.token.refused',
        actor,
        subject: { kind: 'route', id: `${request.method} ${request.routeOptions.url ?? '?'}` },
        outcome: 'rejected',
        reasons: [error.code],
        details,
      });
    } catch (auditError) {
      deps.onAuditError?.(auditError);
    }
  }

  const authorize = async (request: AuthRequest, options: { scope: Scope }): Promise<AuthContext> => {
    const seen: { identity?: PeerIdentity; token?: AccessToken } = {};
    try {
      const context = await check(request, options.scope, seen);
      contexts.set(request, context);
      return context;
    } catch (error) {
      const refusal =
        error instanceof GatewayError
          ? error
          : new GatewayError('INTERNAL_ERROR', undefined, { cause: error });
      if (refusal instanceof AuthRefusal && refusal.scheme === undefined)
        refusal.scheme = schemes.get(request);
      await auditRefusal(request, refusal, seen);
      throw refusal;
    }
  };

  return {
    authorize,
    hook: (options) => async (request, reply) => {
      try {
        await authorize(request, options);
        if (schemes.get(request) === 'DPoP') reply.header('dpop-nonce', deps.nonces.issue());
        return undefined;
      } catch (error) {
        const refusal = error as GatewayError;
        // Server-side failures (store down, issuer unreachable) go to the common handler, which logs them
        // and sets Retry-After; they carry no OAuth challenge.
        if (refusal.status >= 500) throw refusal;
        const scheme = refusal instanceof AuthRefusal ? refusal.scheme : schemes.get(request);
        const challenges = challengesFor(refusal, scheme, config.dpop.algorithms);
        if (challenges.length > 0) reply.header('www-authenticate', challenges);
        if (
          scheme === 'DPoP' ||
          refusal.code === 'AUTH_TOKEN_MISSING' ||
          refusal.code === 'AUTH_TOKEN_REQUIRES_DPOP'
        )
          reply.header('dpop-nonce', deps.nonces.issue());
        reply.header('cache-control', 'no-store');
        request.log.info({ code: refusal.code }, 'request refused');
        return sendProblem(reply, request, refusal);
      }
    },
    contextOf: (request) => {
      const context = contexts.get(request);
      if (context === undefined)
        throw new GatewayError('INTERNAL_ERROR', 'route reached without authorization');
      return context;
    },
  };
}
