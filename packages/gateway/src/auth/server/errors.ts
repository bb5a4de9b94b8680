/**
 * The authorization server's errors (CONVENTIONS.md §4, RFC 6749 §5.2, RFC 9449 §5 and §8).
 *
 * OAuthError is what a token, introspection or revocation request is refused with: the RFC 6749 `error`
 * value and a peer-safe `error_description`, plus the stable fleetgate `code` from errors/codes.ts, the
 * HTTP status and headers (Retry-After, DPoP-Nonce). `reason` is the precise cause for the audit entry
 * (e.g. ASSERTION_REPLAYED); it is a fixed code, never text taken from the request.
 *
 * AuthServerError is the closed union for everything that is not an HTTP answer: key files, client
 * registration and the partner commands.
 */
import type { ErrorCode } from '../../errors/codes.ts';
import { ERROR_CODES } from '../../errors/codes.ts';

/** RFC 6749 §5.2, RFC 8707 §2, RFC 9449 §5/§8 error values, and temporarily_unavailable for 429s. */
export type OAuthErrorValue =
  | 'invalid_request'
  | 'invalid_client'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'temporarily_unavailable'
  | 'server_error';

export class OAuthError extends Error {
  readonly error: OAuthErrorValue;
  readonly code: ErrorCode;
  readonly status: number;
  /** Shown to the peer as error_description: fixed text, never a request value or a secret. */
  readonly description: string;
  /** For the audit entry: a fixed upper-case reason code. */
  readonly reason: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    error: OAuthErrorValue,
    code: ErrorCode,
    description: string,
    options: { reason?: string; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(`${error}: ${description}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OAuthError';
    this.error = error;
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.description = description;
    this.reason = options.reason ?? code;
    this.headers = options.headers ?? {};
  }

  /** The RFC 6749 §5.2 JSON body, with the fleetgate code as an extension member. */
  body(): { error: OAuthErrorValue; error_description: string; code: ErrorCode } {
    return { error: this.error, error_description: this.description, code: this.code };
  }
}

/** invalid_client (401) with an audit reason: every failed client authentication goes through this. */
export function clientAuthFailed(reason: string, description: string, cause?: unknown): OAuthError {
  return new OAuthError('invalid_client', 'OAUTH_INVALID_CLIENT', description, {
    reason,
    ...(cause === undefined ? {} : { cause }),
  });
}

export function invalidRequest(reason: string, description: string): OAuthError {
  return new OAuthError('invalid_request', 'OAUTH_INVALID_REQUEST', description, { reason });
}

export type AuthServerErrorCode =
  /** The token signing key is missing, unreadable, readable by others, or not P-256. */
  | 'AS_KEY_UNAVAILABLE'
  /** A client registration argument is unusable (id, tenant, scope, JWKS, certificate, policy, lifetime). */
  | 'AS_INVALID_ARGUMENT'
  /** `partner add` for a client id that is already registered. */
  | 'AS_CLIENT_EXISTS'
  /** An operation on a client id that is not registered. */
  | 'AS_CLIENT_NOT_FOUND';

export class AuthServerError extends Error {
  readonly code: AuthServerErrorCode;

  constructor(code: AuthServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthServerError';
    this.code = code;
  }
}
