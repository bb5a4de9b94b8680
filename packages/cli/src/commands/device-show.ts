/**
 * `fleetgate device show <vehicle-id|serial> --data-dir DIR [--json]`: one vehicle's certificate history
 * from the inventory — serial, full SHA-256 thumbprint, status (and revocation reason and time),
 * validity, replaced_by — with its rotation state (due, forced, successor, end of the overlap), its
 * tenant and its bootstrap tokens by id (the tokens themselves are never stored). A serial selects the
 * vehicle that certificate belongs to. Read-only. Exit codes: 0, 1 unknown vehicle or failure, 2 usage.
 */
import { getCertificate, listCertificates } from '@fleetgate/gateway/pki/inventory';
import { vehicleRotationStatus } from '@fleetgate/gateway/pki/rotation/status';
import { Command } from 'commander';
import { withDeviceContext } from './device-common.ts';
import { entryJson } from './device-list.ts';

const SERIAL = /^[0-9A-Fa-f]{2,42}$/;
const iso = (d: Date | null) => d?.toISOString() ?? '-';

export function deviceShowCommand(setExit: (code: number) => void): Command {
  return new Command('show')
    .description("show a vehicle's certificates, rotation state and bootstrap tokens")
    .argument('<target>', 'vehicle id, or the serial number of one of its certificates')
    .requiredOption('--data-dir <dir>', 'data directory created by `fleetgate init`')
    .option('--json', 'print the result as JSON')
    .action(async (target: string, opts: { dataDir: string; json?: boolean }) => {
      const found = await withDeviceContext(opts.dataDir, false, async ({ store }) => {
        const bySerial = SERIAL.test(target) ? await getCertificate(store, target) : undefined;
        const vehicleId = bySerial?.kind === 'vehicle' ? bySerial.subjectId : target;
        const certificates = await listCertificates(store, { kind: 'vehicle', subjectId: vehicleId });
        return { vehicleId, certificates, status: await vehicleRotationStatus(store, vehicleId) };
      });
      if (found.certificates.length === 0 && found.status.tokens.length === 0) {
        console.error(
          `fleetgate: no certificate or token for vehicle ${JSON.stringify(target.slice(0, 80))}`,
        );
        setExit(1);
        return;
      }
      const rotations = new Map(found.status.rotations.map((r) => [r.serialNumber, r]));
      if (opts.json === true) {
        console.log(
          JSON.stringify(
            {
              vehicleId: found.vehicleId,
              tenant: found.status.tenant,
              certificates: found.certificates.map((e) => ({
                ...entryJson(e),
                rotation: rotations.get(e.serialNumber) ?? null,
              })),
              tokens: found.status.tokens,
            },
            null,
            2,
          ),
        );
        setExit(0);
        return;
      }
      console.log(`vehicle ${found.vehicleId} (tenant ${found.status.tenant})`);
      for (const e of found.certificates) {
        const state =
          e.status === 'revoked'
            ? `revoked ${iso(e.revokedAt)} (${e.revocationReason ?? 'unspecified'})`
            : 'active';
        console.log(`  certificate ${e.serialNumber}  ${state}`);
        console.log(`    sha256       ${e.thumbprintSha256}`);
        console.log(`    valid        ${iso(e.notBefore)} .. ${iso(e.notAfter)}`);
        console.log(`    replaced by  ${e.replacedBy ?? '-'}`);
        const r = rotations.get(e.serialNumber);
        if (r !== undefined) {
          console.log(
            `    rotation     ${r.forced ? `forced (${r.forcedReason ?? ''}) ` : ''}due ${iso(r.dueAt)}, successor ${iso(r.successorIssuedAt)}, overlap ends ${iso(r.revokeAfter)}`,
          );
        }
      }
      for (const t of found.status.tokens) {
        const state =
          t.usedSerial !== null
            ? `used for ${t.usedSerial}`
            : t.usedAt !== null
              ? 'withdrawn'
              : `unused, expires ${iso(t.expiresAt)}`;
        console.log(`  token ${t.tokenId}  ${state}  (created ${iso(t.createdAt)} by ${t.createdBy})`);
      }
      setExit(0);
    });
}
