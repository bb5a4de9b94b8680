/**
 * `fleetgate device rotate <vehicle-id> | --tenant <tenant> | --intermediate [sha256] --data-dir DIR`:
 * forced rotation after a compromise (pki/rotation/force.ts). Every active vehicle certificate selected
 * is revoked at once — keyCompromise, or cACompromise for the certificates of an intermediate (default:
 * the current one under DIR/pki/intermediate/) — and each affected vehicle gets a new one-time
 * bootstrap token, printed once, to re-enroll with a fresh key (--no-tokens to skip, e.g. when the
 * vehicles are re-provisioned another way). docs/pki.md "Rotation" says why a deadline is not offered.
 *
 * A gateway on the same PostgreSQL store enforces the revocations within a second and reissues its
 * CRL; with PGlite the gateway must be stopped and does so when it starts.
 *
 * Exit codes: 0 certificates rotated, 1 nothing matched or a failure, 2 usage error.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { thumbprintOf } from '@fleetgate/gateway/pki/inventory';
import { forceRotation, type RotationSelector } from '@fleetgate/gateway/pki/rotation/force';
import { Command } from 'commander';
import { operatorActor, parseDuration, withDeviceContext } from './device-common.ts';

interface RotateOptions {
  dataDir: string;
  tenant?: string;
  intermediate?: string | boolean;
  tokens: boolean;
  ttl?: number;
  operator?: string;
  json?: boolean;
}

function selectorOf(vehicleId: string | undefined, opts: RotateOptions): RotationSelector | string {
  const given = [vehicleId !== undefined, opts.tenant !== undefined, opts.intermediate !== undefined];
  if (given.filter(Boolean).length !== 1)
    return 'name exactly one of <vehicle-id>, --tenant or --intermediate';
  if (vehicleId !== undefined) return { vehicleId };
  if (opts.tenant !== undefined) return { tenant: opts.tenant };
  if (typeof opts.intermediate === 'string') return { intermediateSha256: opts.intermediate.toLowerCase() };
  const path = join(resolve(opts.dataDir), 'pki', 'intermediate', 'cert.pem');
  return { intermediateSha256: thumbprintOf(new X509Certificate(readFileSync(path))) };
}

export function deviceRotateCommand(setExit: (code: number) => void): Command {
  return new Command('rotate')
    .description('force rotation after a compromise: revoke at once and issue re-enrollment tokens')
    .argument('[vehicle-id]', 'one vehicle')
    .requiredOption('--data-dir <dir>', 'data directory created by `fleetgate init`')
    .option('--tenant <tenant>', 'every vehicle of a tenant (see `device enroll --tenant`)')
    .option(
      '--intermediate [sha256]',
      'every vehicle certificate of an intermediate CA (default: the current one)',
    )
    .option('--no-tokens', 'do not create re-enrollment bootstrap tokens')
    .option(
      '--ttl <duration>',
      'lifetime of the re-enrollment tokens (default enrollment.tokenTtlSeconds)',
      parseDuration,
    )
    .option('--operator <id>', 'who orders the rotation, for the audit log (default: $USER)')
    .option('--json', 'print the result as JSON')
    .action(async (vehicleId: string | undefined, opts: RotateOptions) => {
      const selector = selectorOf(vehicleId, opts);
      if (typeof selector === 'string') {
        console.error(`fleetgate: ${selector}`);
        setExit(2);
        return;
      }
      const actor = operatorActor(opts.operator);
      const result = await withDeviceContext(opts.dataDir, true, async ({ store, audit, config }) =>
        forceRotation(
          { store, audit: audit as NonNullable<typeof audit>, now: () => new Date() },
          {
            selector,
            actor,
            issueTokens: opts.tokens,
            tokenTtlSeconds: opts.ttl ?? config.enrollment.tokenTtlSeconds,
          },
        ),
      );
      if (opts.json === true) {
        console.log(
          JSON.stringify({
            revoked: result.certificates.map((c) => ({ ...c, revokedAt: c.revokedAt.toISOString() })),
            tokens: result.tokens.map((t) => ({ ...t, expiresAt: t.expiresAt.toISOString() })),
          }),
        );
      } else {
        for (const c of result.certificates) {
          console.log(
            `revoked serial ${c.serialNumber} sha256 ${c.thumbprintSha256} vehicle ${c.vehicleId} at ${c.revokedAt.toISOString()}`,
          );
        }
        for (const t of result.tokens) {
          console.log(
            `re-enrollment token ${t.tokenId} for ${t.vehicleId}, valid once until ${t.expiresAt.toISOString()}:`,
          );
          console.log(t.token);
        }
        if (result.certificates.length === 0)
          console.error('fleetgate: no active vehicle certificate matched');
      }
      setExit(result.certificates.length > 0 ? 0 : 1);
    });
}
