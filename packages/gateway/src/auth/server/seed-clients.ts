/**
 * Seeds oauth_clients from the configuration file's `partners` at every gateway start (the contract of
 * issue 4): a configured partner that has no client row gets one — tls_client_auth with the SAN URI
 * urn:fleetgate:partner:<id>, the scopes tenders:write tenders:read tracking:read, the default lifetime
 * and an empty policy — so existing data directories and configurations keep working. Existing rows are
 * never changed (a suspended partner stays suspended; `fleetgate partner` owns them). Each row created is
 * audited as `auth.client.registered` by the system, in the transaction that creates it.
 */
import type { AuditLog } from '../../audit/log.ts';
import type { PartnerConfig } from '../../config/config.ts';
import { identityUri } from '../../pki/identity.ts';
import type { Store } from '../../store/store.ts';
import { DEFAULT_PARTNER_SCOPES, DEFAULT_TOKEN_LIFETIME_SECONDS, insertClient } from './client-registry.ts';

/** Returns the ids of the clients created. */
export async function seedClientsFromConfig(
  deps: { store: Store; audit: AuditLog; now: () => Date },
  partners: readonly PartnerConfig[],
): Promise<string[]> {
  const created: string[] = [];
  for (const partner of partners) {
    const inserted = await deps.store.transaction(async (tx) => {
      const ok = await insertClient(
        tx,
        {
          clientId: partner.id,
          tenantId: partner.tenant,
          authMethod: 'tls_client_auth',
          tlsClientAuthSanUri: identityUri('partner', partner.id),
          jwks: null,
          scopes: DEFAULT_PARTNER_SCOPES,
          tokenLifetimeSeconds: DEFAULT_TOKEN_LIFETIME_SECONDS,
          policy: '{}',
        },
        deps.now(),
      );
      if (ok) {
        await deps.audit.appendInTx(tx, {
          class: 'auth.client.registered',
          actor: { kind: 'system', id: 'config' },
          subject: { kind: 'oauth-client', id: partner.id },
          outcome: 'recorded',
          reasons: ['SEEDED_FROM_CONFIG'],
          details: {
            tenant: partner.tenant,
            authMethod: 'tls_client_auth',
            scope: DEFAULT_PARTNER_SCOPES.join(' '),
          },
        });
      }
      return ok;
    });
    if (inserted) created.push(partner.id);
  }
  return created;
}
