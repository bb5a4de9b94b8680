/**
 * `fleetgate device enroll <vehicle-id> --token --data-dir DIR [--ttl 24h] [--tenant T]`: creates the
 * one-time bootstrap token a vehicle enrolls with over EST (POST /.well-known/est/simpleenroll on the
 * public listener, `Authorization: Bearer <token>`; docs/pki.md "Enrollment (EST)").
 *
 * The token is printed once, on stdout, and never stored (the store keeps its SHA-256); deliver it to
 * the vehicle out of band. It is bound to the vehicle id, works once, expires after --ttl (default
 * `enrollment.tokenTtlSeconds`), and withdraws the vehicle's earlier unused tokens. Creation is
 * audited with the token's id, never the token. --tenant records the vehicle's tenant for
 * `device rotate --tenant`.
 *
 * Exit codes: 0 token created, 1 failure, 2 usage error.
 */
import { createBootstrapToken } from '@fleetgate/gateway/pki/enrollment/create-token';
import { Command } from 'commander';
import { operatorActor, parseDuration, withDeviceContext } from './device-common.ts';

interface EnrollOptions {
  dataDir: string;
  token?: boolean;
  ttl?: number;
  tenant?: string;
  operator?: string;
  json?: boolean;
}

export function deviceEnrollCommand(setExit: (code: number) => void): Command {
  return new Command('enroll')
    .description('create a one-time bootstrap token for a vehicle to enroll with over EST')
    .argument('<vehicle-id>', 'the vehicle the token is bound to, e.g. TRK-013')
    .requiredOption('--data-dir <dir>', 'data directory created by `fleetgate init`')
    .option('--token', 'create a one-time bootstrap token (EST simpleenroll with Authorization: Bearer)')
    .option(
      '--ttl <duration>',
      'token lifetime, e.g. 3600, 30m, 24h, 7d (default enrollment.tokenTtlSeconds)',
      parseDuration,
    )
    .option('--tenant <tenant>', 'record the tenant the vehicle belongs to')
    .option('--operator <id>', 'who creates the token, for the audit log (default: $USER)')
    .option('--json', 'print the result as JSON')
    .action(async (vehicleId: string, opts: EnrollOptions) => {
      if (opts.token !== true) {
        console.error('fleetgate: `device enroll` issues bootstrap tokens; pass --token');
        setExit(2);
        return;
      }
      const actor = operatorActor(opts.operator);
      const created = await withDeviceContext(opts.dataDir, true, async ({ store, audit, config }) =>
        createBootstrapToken(
          { store, audit: audit as NonNullable<typeof audit>, now: () => new Date() },
          {
            vehicleId,
            ttlSeconds: opts.ttl ?? config.enrollment.tokenTtlSeconds,
            actor,
            purpose: 'enroll',
            ...(opts.tenant === undefined ? {} : { tenant: opts.tenant }),
          },
        ),
      );
      if (opts.json === true) {
        console.log(
          JSON.stringify({
            vehicleId: created.vehicleId,
            tokenId: created.tokenId,
            expiresAt: created.expiresAt.toISOString(),
            token: created.token,
          }),
        );
      } else {
        console.log(
          `bootstrap token ${created.tokenId} for ${created.vehicleId}, valid once until ${created.expiresAt.toISOString()}:`,
        );
        console.log(created.token);
        console.log(
          'Deliver it to the vehicle out of band; it enrolls with POST /.well-known/est/simpleenroll on the public listener.',
        );
      }
      setExit(0);
    });
}
