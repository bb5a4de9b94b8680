/**
 * RFC 8414 authorization server metadata, served on the public listener at
 * /.well-known/oauth-authorization-server, and the JWKS (RFC 7517 §5) at /oauth/jwks. Both derive from
 * configuration and the public signing key only: nothing in them is secret, nothing comes from a request
 * (the Host header never changes an advertised URL).
 *
 * What is advertised is exactly what is implemented: client_credentials only, no authorization or
 * refresh grants, no client secrets, certificate-bound (RFC 8705 §3.3) and DPoP-bound (RFC 9449 §5.1)
 * tokens.
 */
import type { AuthConfig, ResourceServerConfig } from '../../config/config.ts';
import { ASSERTION_ALGORITHMS } from './client-auth/private-key-jwt.ts';
import { SCOPES } from './client-registry.ts';
import type { PublicSigningJwk } from './signing-key.ts';

const AUTH_METHODS = ['tls_client_auth', 'self_signed_tls_client_auth', 'private_key_jwt'];

/** `tokenListenerPort`: the bound port of the token listener (its configured port may be 0). */
export function authorizationServerMetadata(
  config: AuthConfig,
  dpop: ResourceServerConfig['dpop'],
  tokenListenerPort?: number,
): Record<string, unknown> {
  const base = config.issuer;
  const metadata: Record<string, unknown> = {
    issuer: base,
    token_endpoint: `${base}/oauth/token`,
    jwks_uri: `${config.publicUrl}/oauth/jwks`,
    introspection_endpoint: `${base}/oauth/introspect`,
    revocation_endpoint: `${base}/oauth/revoke`,
    scopes_supported: [...SCOPES],
    response_types_supported: [],
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: AUTH_METHODS,
    token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    introspection_endpoint_auth_methods_supported: AUTH_METHODS,
    introspection_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    revocation_endpoint_auth_methods_supported: AUTH_METHODS,
    revocation_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    tls_client_certificate_bound_access_tokens: true,
    dpop_signing_alg_values_supported: [...dpop.algorithms],
    authorization_response_iss_parameter_supported: false,
  };
  if (config.tokenListener !== null) {
    // RFC 8705 §5: where clients without a fleetgate certificate (self-signed certificate, or
    // private_key_jwt + DPoP) reach the same endpoints. The host is the issuer's; the port is the listener's.
    const origin = new URL(base);
    origin.port = String(tokenListenerPort ?? config.tokenListener.port);
    const alias = origin.toString().replace(/\/$/, '');
    metadata.mtls_endpoint_aliases = {
      token_endpoint: `${alias}/oauth/token`,
      introspection_endpoint: `${alias}/oauth/introspect`,
      revocation_endpoint: `${alias}/oauth/revoke`,
    };
  }
  return metadata;
}

export function jwksDocument(keys: readonly PublicSigningJwk[]): { keys: PublicSigningJwk[] } {
  return { keys: [...keys] };
}
