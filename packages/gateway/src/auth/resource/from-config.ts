/**
 * Builds the gateway's resource server from its configuration: fleetgate's own issuer (`auth.issuer`,
 * `auth.audience`, the authorization server's public keys in DIR/pki/oauth/) plus every external issuer
 * of `resourceServer.externalIssuers`, the shared DPoP nonce source, and the store and audit log every
 * decision goes through. Wiring only; the decisions are in authorize.ts.
 */
import type { Logger } from 'pino';
import type { AuditLog } from '../../audit/log.ts';
import type { GatewayConfig } from '../../config/config.ts';
import type { Store } from '../../store/store.ts';
import type { DpopNonces } from '../server/dpop-nonce.ts';
import { loadTokenVerificationJwks } from '../server/signing-key.ts';
import { createResourceServer, type ResourceServer } from './authorize.ts';
import { externalIssuer } from './external-issuer.ts';
import { localIssuer } from './local-issuer.ts';

export interface ResourceServerWiring {
  dataDir: string;
  config: Pick<GatewayConfig, 'auth' | 'resourceServer'>;
  store: Store;
  audit: AuditLog;
  now: () => Date;
  nonces: DpopNonces;
  logger: Logger;
}

export function resourceServerFromConfig(w: ResourceServerWiring): ResourceServer {
  const local = localIssuer({
    issuer: w.config.auth.issuer,
    audience: w.config.auth.audience,
    publicJwks: () => loadTokenVerificationJwks(w.dataDir).keys,
  });
  const external = w.config.resourceServer.externalIssuers.map((c) =>
    externalIssuer(c, {
      dataDir: w.dataDir,
      onFetchError: (issuer, error) =>
        w.logger.warn({ issuer, err: error }, 'external issuer metadata or JWKS fetch failed'),
    }),
  );
  return createResourceServer({
    store: w.store,
    audit: w.audit,
    now: w.now,
    config: w.config.resourceServer,
    issuers: [local, ...external],
    nonces: w.nonces,
    onAuditError: (error) => w.logger.error({ err: error }, 'an authorization refusal could not be audited'),
  });
}
