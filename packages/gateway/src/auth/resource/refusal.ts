/**
 * How the resource server says no: an RFC 9457 problem with a fleetgate code (GatewayError) plus the
 * RFC 6750 §3 / RFC 9449 §7.1 `WWW-Authenticate` challenge a client library acts on.
 *
 *  - error codes: `invalid_request`, `invalid_token`, `insufficient_scope` (RFC 6750 §3.1),
 *    `invalid_dpop_proof` and `use_dpop_nonce` (RFC 9449 §7.1, §9);
 *  - the challenge uses the scheme the request used; a request without credentials gets both schemes and
 *    no error attribute (RFC 6750 §3.1: "SHOULD NOT include an error code");
 *  - `error_description` is the code's fixed title (never token contents, never internal detail) and is
 *    checked to hold no quote or backslash, so the quoted-string can never be broken out of.
 *
 * Threat: a client that cannot tell "get a new nonce" from "your token is bad" retries forever or gives up;
 * a description built from attacker input could inject challenge parameters.
 */
import { ERROR_CODES, type ErrorCode } from '../../errors/codes.ts';
import { GatewayError } from '../../errors/gateway-error.ts';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce';

export type AuthScheme = 'Bearer' | 'DPoP';

export const REALM = 'fleetgate';

/** The RFC error each resource-server code maps to; codes absent here carry no challenge error. */
const OAUTH_ERROR: Partial<Record<ErrorCode, OAuthErrorCode>> = {
  AUTH_TOKEN_MALFORMED: 'invalid_token',
  AUTH_TOKEN_TOO_LARGE: 'invalid_token',
  AUTH_TOKEN_ALGORITHM: 'invalid_token',
  AUTH_TOKEN_HEADER: 'invalid_token',
  AUTH_TOKEN_KEY_UNKNOWN: 'invalid_token',
  AUTH_TOKEN_SIGNATURE: 'invalid_token',
  AUTH_TOKEN_ISSUER: 'invalid_token',
  AUTH_TOKEN_AUDIENCE: 'invalid_token',
  AUTH_TOKEN_EXPIRED: 'invalid_token',
  AUTH_TOKEN_NOT_YET_VALID: 'invalid_token',
  AUTH_TOKEN_CLAIMS: 'invalid_token',
  AUTH_TOKEN_UNBOUND: 'invalid_token',
  AUTH_TOKEN_CERT_MISMATCH: 'invalid_token',
  AUTH_TOKEN_CLIENT_MISMATCH: 'invalid_token',
  AUTH_TOKEN_REVOKED: 'invalid_token',
  AUTH_TOKEN_CLIENT_SUSPENDED: 'invalid_token',
  AUTH_TOKEN_REQUIRES_DPOP: 'invalid_token',
  AUTH_SCOPE_INSUFFICIENT: 'insufficient_scope',
  AUTH_DPOP_PROOF_INVALID: 'invalid_dpop_proof',
  AUTH_DPOP_PROOF_MISMATCH: 'invalid_dpop_proof',
  AUTH_DPOP_PROOF_STALE: 'invalid_dpop_proof',
  AUTH_DPOP_ATH_MISMATCH: 'invalid_dpop_proof',
  AUTH_DPOP_KEY_MISMATCH: 'invalid_dpop_proof',
  AUTH_DPOP_REPLAYED: 'invalid_dpop_proof',
  AUTH_DPOP_NONCE_REQUIRED: 'use_dpop_nonce',
};

export function oauthErrorOf(code: ErrorCode): OAuthErrorCode | undefined {
  return OAUTH_ERROR[code];
}

/** A refusal by the resource server: the problem (code, detail) and what the challenge needs. */
export class AuthRefusal extends GatewayError {
  /** The scheme the request used, if it got that far. */
  scheme: AuthScheme | undefined;
  /** For insufficient_scope: the scope the route needs. */
  readonly scope: string | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown; scope?: string }) {
    super(code, detail, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuthRefusal';
    this.scope = options?.scope;
  }
}

const quotable = (value: string): string => {
  if (/["\\\r\n]/.test(value)) throw new Error('challenge parameter must not contain quotes or controls');
  return `"${value}"`;
};

/**
 * The WWW-Authenticate values for a refusal (one challenge per header line). `dpopAlgs` lists the proof
 * algorithms accepted, advertised in every DPoP challenge (RFC 9449 §7.1).
 */
export function challengesFor(
  error: GatewayError,
  scheme: AuthScheme | undefined,
  dpopAlgs: readonly string[],
): string[] {
  const dpopBase = `DPoP realm=${quotable(REALM)}, algs=${quotable(dpopAlgs.join(' '))}`;
  const bearerBase = `Bearer realm=${quotable(REALM)}`;
  const oauthError = oauthErrorOf(error.code);
  if (oauthError === undefined) return error.code === 'AUTH_TOKEN_MISSING' ? [bearerBase, dpopBase] : [];
  let params = `, error=${quotable(oauthError)}, error_description=${quotable(ERROR_CODES[error.code].title)}`;
  if (error instanceof AuthRefusal && error.scope !== undefined) params += `, scope=${quotable(error.scope)}`;
  // DPoP errors are always answered in the DPoP scheme; a DPoP-bound token sent as Bearer gets the Bearer
  // error plus a DPoP challenge telling the client which scheme to use instead.
  if (oauthError === 'invalid_dpop_proof' || oauthError === 'use_dpop_nonce') return [dpopBase + params];
  if (error.code === 'AUTH_TOKEN_REQUIRES_DPOP') return [bearerBase + params, dpopBase];
  return scheme === 'DPoP' ? [dpopBase + params] : [bearerBase + params];
}
