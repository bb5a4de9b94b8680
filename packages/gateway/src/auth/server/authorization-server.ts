/**
 * The authorization server's three endpoints (routes/oauth.ts mounts them on the control plane and on
 * the optional token listener):
 *   token      — RFC 6749 §4.4 client_credentials only (no refresh tokens, no other grant), RFC 8707
 *                `resource`, RFC 8705 / RFC 9449 sender-constrained tokens (issue-token.ts);
 *   introspect — RFC 7662 (introspect.ts);  revoke — RFC 7009 (revoke-token.ts).
 * Each request goes: per-address limit → parameters → client identified → per-client limit and lockout →
 * (token: DPoP proof checked, nonce flow) → client authenticated → the endpoint's own checks → answer.
 * Every refusal is an RFC 6749 §5.2 body with the fleetgate code and is audited: failed client
 * authentication and locks by the guard, rate limiting throttled by the guard, everything else here as
 * `auth.token.request_refused`.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { AuditLog } from '../../audit/log.ts';
import type { AuthConfig, ResourceServerConfig } from '../../config/config.ts';
import type { Store } from '../../store/store.ts';
import { AbuseGuard, addressKey } from './abuse/guard.ts';
import { type AuthenticatedClient, identifyClient, verifyClient } from './client-auth/authenticate.ts';
import type { DpopNonces } from './dpop-nonce.ts';
import { type CheckedDpopProof, checkDpopProof, consumeDpopProof } from './dpop-proof.ts';
import { invalidRequest, OAuthError } from './errors.ts';
import { type FormParams, tokenParameter } from './form.ts';
import { introspectToken } from './introspect.ts';
import { issueAccessToken, type TokenBinding } from './issue-token.ts';
import { purgeAtMostEveryMinute } from './purge.ts';
import { revokeToken } from './revoke-token.ts';
import { grantScopes } from './scopes.ts';
import type { TokenSigningKey } from './signing-key.ts';

export interface AuthorizationServerDeps {
  store: Store;
  audit: AuditLog;
  key: TokenSigningKey;
  nonces: DpopNonces;
  config: AuthConfig;
  dpop: ResourceServerConfig['dpop'];
  now: () => Date;
  logger?: Logger;
}

export interface OAuthRequest {
  raw: IncomingMessage;
  /** undefined when the request had no form body. */
  form: FormParams | undefined;
  /** Every DPoP header value received. */
  dpop: readonly string[];
  /** https://<Host header><path>, the URL the client addressed (one accepted DPoP htu). */
  requestUrl: string | undefined;
}

export interface OAuthResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export type Endpoint = 'token' | 'introspect' | 'revoke';
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

export class AuthorizationServer {
  readonly #deps: AuthorizationServerDeps;
  readonly #guard: AbuseGuard;
  readonly #purge: (now: Date) => void;

  constructor(deps: AuthorizationServerDeps) {
    this.#deps = deps;
    this.#guard = new AbuseGuard(deps);
    this.#purge = purgeAtMostEveryMinute(deps.store, deps.logger);
  }

  get tokenEndpoint(): string {
    return `${this.#deps.config.issuer}/oauth/token`;
  }

  async token(request: OAuthRequest): Promise<OAuthResponse> {
    return this.#run(request, 'token', async (address, ctx, form) => {
      const grantType = form.get('grant_type');
      if (grantType === undefined) throw invalidRequest('GRANT_TYPE_MISSING', 'grant_type is required');
      if (grantType !== 'client_credentials') {
        throw new OAuthError(
          'unsupported_grant_type',
          'OAUTH_UNSUPPORTED_GRANT_TYPE',
          'only client_credentials is offered',
          {
            reason: 'GRANT_TYPE_UNSUPPORTED',
          },
        );
      }
      let proof: CheckedDpopProof | undefined;
      const authed = await this.#authenticate(request, form, address, 'token', ctx, async () => {
        if (request.dpop.length > 0) proof = await this.#checkProof(request);
      });
      const scopes = grantScopes(form.get('scope'), authed.client.scopes);
      const resource = form.get('resource');
      if (resource !== undefined && resource !== this.#deps.config.audience) {
        throw new OAuthError(
          'invalid_target',
          'OAUTH_INVALID_TARGET',
          'resource is not served by this issuer',
          {
            reason: 'RESOURCE_UNKNOWN',
          },
        );
      }
      let binding: TokenBinding;
      if (proof !== undefined) {
        await consumeDpopProof(this.#deps.store, proof);
        binding = { kind: 'dpop', jkt: proof.jkt };
      } else if (authed.certificate !== undefined) {
        binding = { kind: 'mtls', x5tS256: authed.certificate.x5tS256 };
      } else {
        throw new OAuthError(
          'invalid_request',
          'OAUTH_BINDING_REQUIRED',
          'send a DPoP proof or use mutual TLS: tokens are sender-constrained',
          {
            reason: 'BINDING_REQUIRED',
          },
        );
      }
      const issued = await issueAccessToken(
        { ...this.#deps, issuer: this.#deps.config.issuer, audience: this.#deps.config.audience },
        {
          client: authed.client,
          scopes,
          binding,
          authMethod: authed.method,
          ...(authed.certificate === undefined ? {} : { certSha256: authed.certificate.sha256Hex }),
          address,
        },
      );
      this.#purge(this.#deps.now());
      return {
        status: 200,
        headers: { ...NO_STORE, ...(proof !== undefined ? { 'dpop-nonce': this.#deps.nonces.issue() } : {}) },
        body: {
          access_token: issued.accessToken,
          token_type: issued.tokenType,
          expires_in: issued.expiresIn,
          scope: issued.scope,
        },
      };
    });
  }

  async introspect(request: OAuthRequest): Promise<OAuthResponse> {
    return this.#run(request, 'introspect', async (address, ctx, form) => {
      const authed = await this.#authenticate(request, form, address, 'introspect', ctx);
      const token = tokenParameter(form);
      const answer = await introspectToken(
        { ...this.#deps, issuer: this.#deps.config.issuer, audience: this.#deps.config.audience },
        authed.client,
        token,
      );
      return { status: 200, headers: NO_STORE, body: answer };
    });
  }

  async revoke(request: OAuthRequest): Promise<OAuthResponse> {
    return this.#run(request, 'revoke', async (address, ctx, form) => {
      const authed = await this.#authenticate(request, form, address, 'revoke', ctx);
      const token = tokenParameter(form);
      await revokeToken(
        { ...this.#deps, issuer: this.#deps.config.issuer, audience: this.#deps.config.audience },
        authed.client,
        token,
        authed.certificate?.sha256Hex,
      );
      return { status: 200, headers: NO_STORE, body: undefined };
    });
  }

  /**
   * The per-address limit, run before the body is read (routes/oauth.ts calls it from onRequest): the
   * refusal to send, or undefined to go on.
   */
  async admit(raw: IncomingMessage, endpoint: Endpoint): Promise<OAuthResponse | undefined> {
    try {
      await this.#guard.admitAddress(addressKey(raw.socket.remoteAddress), endpoint);
      return undefined;
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      return { status: error.status, headers: { ...NO_STORE, ...error.headers }, body: error.body() };
    }
  }

  /** A request whose body could not be read as a form (wrong Content-Type, too large, malformed). */
  async malformed(raw: IncomingMessage, endpoint: Endpoint, error: OAuthError): Promise<OAuthResponse> {
    return this.#refused(error, endpoint, addressKey(raw.socket.remoteAddress), {});
  }

  async #run(
    request: OAuthRequest,
    endpoint: Endpoint,
    handle: (
      address: string,
      ctx: { clientId?: string; certSha256?: string },
      form: FormParams,
    ) => Promise<OAuthResponse>,
  ): Promise<OAuthResponse> {
    const address = addressKey(request.raw.socket.remoteAddress);
    const ctx: { clientId?: string; certSha256?: string } = {};
    try {
      if (request.form === undefined) {
        throw invalidRequest('FORM_MISSING', 'the body must be application/x-www-form-urlencoded');
      }
      return await handle(address, ctx, request.form);
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      return this.#refused(error, endpoint, address, ctx);
    }
  }

  /** The RFC 6749 answer; audited here unless the guard already audited it. */
  async #refused(
    error: OAuthError,
    endpoint: Endpoint,
    address: string,
    ctx: { clientId?: string; certSha256?: string },
  ): Promise<OAuthResponse> {
    const alreadyAudited = error.error === 'invalid_client' || error.error === 'temporarily_unavailable';
    if (!alreadyAudited) {
      await this.#deps.audit.append({
        class: 'auth.token.request_refused',
        actor: {
          kind: 'partner',
          id: ctx.clientId ?? 'unknown',
          ...(ctx.certSha256 === undefined ? {} : { certSha256: ctx.certSha256 }),
        },
        subject: { kind: 'oauth-endpoint', id: endpoint },
        outcome: 'rejected',
        reasons: [error.reason],
        details: { code: error.code, address },
      });
    }
    return { status: error.status, headers: { ...NO_STORE, ...error.headers }, body: error.body() };
  }

  async #authenticate(
    request: OAuthRequest,
    form: FormParams,
    address: string,
    endpoint: Endpoint,
    ctx: { clientId?: string; certSha256?: string },
    beforeVerify?: () => Promise<void>,
  ): Promise<AuthenticatedClient> {
    const identified = identifyClient(form, request.raw);
    if (identified.clientId !== undefined) ctx.clientId = identified.clientId;
    const certSha256 = identified.claim?.certificate?.sha256Hex;
    if (certSha256 !== undefined) ctx.certSha256 = certSha256;
    const countersExist = await this.#guard.admitClient(identified.clientId, address, endpoint);
    const failed = async (error: unknown): Promise<never> => {
      if (error instanceof OAuthError && error.error === 'invalid_client') {
        await this.#guard.failed(error, { clientId: identified.clientId, address, certSha256, endpoint });
      }
      throw error;
    };
    if (identified.claim === undefined) return failed(identified.error);
    await beforeVerify?.();
    let authed: AuthenticatedClient;
    try {
      authed = await verifyClient(identified.claim, {
        store: this.#deps.store,
        audiences: [this.#deps.config.issuer, this.tokenEndpoint],
        now: this.#deps.now(),
        skewSeconds: this.#deps.config.clockSkewSeconds,
        assertionMaxLifetimeSeconds: this.#deps.config.assertionMaxLifetimeSeconds,
      });
    } catch (error) {
      return failed(error);
    }
    if (countersExist) await this.#guard.succeeded(authed.client.clientId, address);
    if (authed.client.status !== 'active') {
      throw new OAuthError('unauthorized_client', 'OAUTH_CLIENT_SUSPENDED', 'the client is suspended', {
        reason: 'CLIENT_SUSPENDED',
      });
    }
    return authed;
  }

  #checkProof(request: OAuthRequest): Promise<CheckedDpopProof> {
    const { dpop, config, now, nonces } = this.#deps;
    return checkDpopProof({
      headers: request.dpop,
      method: 'POST',
      urls:
        request.requestUrl === undefined ? [this.tokenEndpoint] : [this.tokenEndpoint, request.requestUrl],
      algorithms: dpop.algorithms,
      now: now(),
      maxAgeSeconds: dpop.proofMaxAgeSeconds,
      skewSeconds: config.clockSkewSeconds,
      nonces,
      nonceRequired: dpop.nonceRequired,
    });
  }
}
