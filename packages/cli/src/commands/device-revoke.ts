/**
 * `fleetgate device revoke <vehicle-id|serial> --reason <reason> --data-dir DIR`: revokes a vehicle's
 * active certificate(s) — or one vehicle certificate named by its serial number — through
 * revokeCertificate (RFC 5280 §5 reasons; one transaction with its audit entry), prints each serial and
 * SHA-256 thumbprint, then reissues the CRL (DIR/pki/crl.pem and crl.der) and seals the audit entries
 * with a signed checkpoint.
 *
 * A running gateway on the same PostgreSQL store sees the revocation at its next poll (≤ 1 s) and closes
 * the certificate's open connections; with the embedded PGlite store the gateway must be stopped (one
 * process owns the data directory) and enforces the revocation when it starts.
 *
 * The target is a serial number when it is one in the inventory, otherwise a vehicle id. Exit codes:
 * 0 revoked (or already revoked), 1 nothing to revoke or a failure, 2 usage error (e.g. unknown reason).
 *
 * Threat: revoking the wrong certificate (a partner's or a CA's) by mistyping a serial — only vehicle
 * certificates are accepted here, and every revocation is printed with its vehicle id and thumbprint.
 */
import { join, resolve } from 'node:path';
import { loadAuditKeys } from '@fleetgate/gateway/audit/keys';
import { AuditLog } from '@fleetgate/gateway/audit/log';
import { loadConfig } from '@fleetgate/gateway/config/load';
import { getCertificate, type InventoryEntry, listCertificates } from '@fleetgate/gateway/pki/inventory';
import { syncInventoryFromDataDir } from '@fleetgate/gateway/pki/inventory-sync';
import { REVOCATION_REASONS, type RevocationReason } from '@fleetgate/gateway/pki/revocation/reasons';
import { reissueCrls } from '@fleetgate/gateway/pki/revocation/reissue-crls';
import { revokeCertificate } from '@fleetgate/gateway/pki/revocation/revoke';
import { openStore } from '@fleetgate/gateway/store';
import type { Store } from '@fleetgate/gateway/store/types';
import { Command, Option } from 'commander';

interface RevokeOptions {
  dataDir: string;
  reason: RevocationReason;
  operator?: string;
  json?: boolean;
}

interface Revoked {
  serialNumber: string;
  thumbprintSha256: string;
  vehicleId: string;
  reason: RevocationReason;
  revokedAt: string;
  alreadyRevoked: boolean;
}

const SERIAL = /^[0-9A-Fa-f]{2,42}$/;
const OPERATOR = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** The vehicle certificates `target` names: one by serial, or the vehicle's (active first). */
async function resolveTarget(store: Store, target: string): Promise<InventoryEntry[]> {
  if (SERIAL.test(target)) {
    const entry = await getCertificate(store, target);
    if (entry !== undefined) {
      if (entry.kind !== 'vehicle') {
        throw new Error(`serial ${entry.serialNumber} is a ${entry.kind} certificate, not a vehicle's`);
      }
      return [entry];
    }
  }
  const all = await listCertificates(store, { kind: 'vehicle', subjectId: target });
  const active = all.filter((e) => e.status === 'active');
  return active.length > 0 ? active : all;
}

async function reissue(store: Store, audit: AuditLog, dataDir: string): Promise<string> {
  const config = loadConfig(dataDir);
  const result = await reissueCrls({
    dataDir,
    store,
    audit,
    now: () => new Date(),
    config: config.revocation,
  });
  const [issuing] = result.crls;
  const lines: string[] = [];
  if (issuing === undefined) lines.push('CRL not published: no issuing CA in this data directory');
  else {
    lines.push(
      `CRL number ${issuing.crlNumber} written to ${result.pemPath} (next update ${issuing.nextUpdate.toISOString()})`,
    );
  }
  if (result.keyError !== undefined) {
    lines.push(
      `CRL not re-signed (${(result.keyError as Error).message}); a gateway with the CA key reissues it`,
    );
  }
  return lines.join('\n');
}

export function deviceRevokeCommand(setExit: (code: number) => void): Command {
  return new Command('revoke')
    .description("revoke a vehicle's active certificate(s), or one by serial number, and reissue the CRL")
    .argument('<target>', 'vehicle id (e.g. TRK-001), or a certificate serial number in hex')
    .addOption(
      new Option('--reason <reason>', 'RFC 5280 revocation reason')
        .choices(REVOCATION_REASONS)
        .makeOptionMandatory(),
    )
    .requiredOption('--data-dir <dir>', 'data directory created by `fleetgate init`')
    .option('--operator <id>', 'who revokes, for the audit log (default: $USER)')
    .option('--json', 'print the result as JSON')
    .action(async (target: string, opts: RevokeOptions) => {
      const operator = opts.operator ?? process.env.USER ?? 'cli';
      if (!OPERATOR.test(operator)) throw new Error('--operator must be 1-64 letters, digits, . _ @ -');
      const dataDir = resolve(opts.dataDir);
      const config = loadConfig(dataDir);
      const store = await openStore(
        config.store.engine === 'pglite'
          ? { engine: 'pglite', dataDir: join(dataDir, 'store') }
          : { engine: 'postgres', url: config.store.url },
      );
      try {
        // The inventory is filled from the data directory at every gateway start; a data directory
        // whose gateway never ran (or certificates added since) is recorded here the same way.
        await store.transaction((tx) => syncInventoryFromDataDir(tx, dataDir));
        const keys = loadAuditKeys(dataDir, config.audit.origin);
        const audit = new AuditLog(store, {
          origin: config.audit.origin,
          privateKey: keys.privateKey,
          mlDsaPrivateKey: keys.mlDsaPrivateKey,
        });
        const entries = await resolveTarget(store, target);
        if (entries.length === 0) {
          console.error(`fleetgate: no vehicle certificate matches ${JSON.stringify(target.slice(0, 80))}`);
          setExit(1);
          return;
        }
        const results: Revoked[] = [];
        for (const entry of entries) {
          const result = await revokeCertificate(
            { store, audit, now: () => new Date() },
            {
              serialNumber: entry.serialNumber,
              reason: opts.reason,
              actor: { kind: 'operator', id: operator },
            },
          );
          const current = result.alreadyRevoked ? await getCertificate(store, entry.serialNumber) : undefined;
          results.push({
            serialNumber: entry.serialNumber,
            thumbprintSha256: entry.thumbprintSha256,
            vehicleId: entry.subjectId,
            reason: result.alreadyRevoked
              ? ((current?.revocationReason ?? 'unspecified') as RevocationReason)
              : opts.reason,
            revokedAt: result.revokedAt.toISOString(),
            alreadyRevoked: result.alreadyRevoked,
          });
        }
        const crl = await reissue(store, audit, dataDir);
        await audit.publish();
        if (opts.json === true) {
          console.log(JSON.stringify({ revoked: results, crl }, null, 2));
        } else {
          for (const r of results) {
            const what = r.alreadyRevoked ? 'already revoked' : 'revoked';
            console.log(
              `${what} serial ${r.serialNumber} sha256 ${r.thumbprintSha256} vehicle ${r.vehicleId} reason ${r.reason} at ${r.revokedAt}`,
            );
          }
          console.log(crl);
        }
        setExit(0);
      } finally {
        await store.close();
      }
    });
}
