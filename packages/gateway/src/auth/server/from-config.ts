/**
 * Builds the authorization server from the gateway's configuration and data directory, at start: the
 * token signing key (created on first start, DIR/pki/oauth/), the partners of the configuration file
 * seeded as clients, the metadata and JWKS documents. gateway.ts mounts the results (routes/oauth.ts).
 */
import type { Logger } from 'pino';
import type { AuditLog } from '../../audit/log.ts';
import type { GatewayConfig } from '../../config/config.ts';
import type { Store } from '../../store/store.ts';
import { AuthorizationServer } from './authorization-server.ts';
import type { DpopNonces } from './dpop-nonce.ts';
import { authorizationServerMetadata, jwksDocument } from './metadata.ts';
import { seedClientsFromConfig } from './seed-clients.ts';
import { ensureTokenSigningKey, type PublicSigningJwk } from './signing-key.ts';

export interface AuthorizationServerSetup {
  server: AuthorizationServer;
  /** The RFC 8414 document; pass the token listener's bound port once it is listening. */
  metadata: (tokenListenerPort?: number) => Record<string, unknown>;
  jwks: () => { keys: PublicSigningJwk[] };
}

export async function startAuthorizationServer(deps: {
  dataDir: string;
  config: GatewayConfig;
  store: Store;
  audit: AuditLog;
  now: () => Date;
  nonces: DpopNonces;
  logger?: Logger;
}): Promise<AuthorizationServerSetup> {
  const key = ensureTokenSigningKey(deps.dataDir);
  await seedClientsFromConfig(deps, deps.config.partners);
  const server = new AuthorizationServer({
    store: deps.store,
    audit: deps.audit,
    key,
    nonces: deps.nonces,
    config: deps.config.auth,
    dpop: deps.config.resourceServer.dpop,
    now: deps.now,
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
  });
  const jwks = jwksDocument([key.jwk]);
  return {
    server,
    metadata: (port) => authorizationServerMetadata(deps.config.auth, deps.config.resourceServer.dpop, port),
    jwks: () => jwks,
  };
}
