/**
 * `fleetgate partner list --data-dir DIR [--json]`: every registered OAuth client (the configured partners
 * included, seeded as at gateway start) with tenant, status, authentication method, scopes, token lifetime
 * and policy. Keys and certificates are not printed: a JWKS is summarised by its key ids.
 */
import { listClients } from '@fleetgate/gateway/auth/server/client-registry';
import { Command } from 'commander';
import { describeClient } from './partner-add.ts';
import { withPartnerContext } from './partner-context.ts';

export function partnerListCommand(setExit: (code: number) => void): Command {
  return new Command('list')
    .description('list the registered partners (OAuth clients)')
    .requiredOption('--data-dir <dir>', 'data directory')
    .option('--json', 'print JSON')
    .action(async (opts: { dataDir: string; json?: boolean }) => {
      const clients = await withPartnerContext(opts.dataDir, (ctx) => listClients(ctx.store));
      if (opts.json === true) {
        console.log(
          JSON.stringify(
            clients.map((c) => ({
              clientId: c.clientId,
              tenant: c.tenantId,
              status: c.status,
              authMethod: c.authMethod,
              scopes: c.scopes,
              tokenLifetimeSeconds: c.tokenLifetimeSeconds,
              policy: c.policy,
              keyIds: c.jwks?.keys.map((k) => k.kid ?? null) ?? [],
              suspendedAt: c.suspendedAt?.toISOString() ?? null,
            })),
            null,
            2,
          ),
        );
      } else if (clients.length === 0) {
        console.log('no partners registered');
      } else {
        for (const client of clients) console.log(describeClient(client));
      }
      setExit(0);
    });
}
