/**
 * `fleetgate device list --data-dir DIR [--status active|revoked] [--vehicle ID] [--json]`: the vehicle
 * certificates of the inventory (pki/inventory.ts), one line each — vehicle, serial, status, validity,
 * SHA-256 thumbprint and the serial that replaced it. Read-only; the table is sorted by vehicle, then
 * issuance. Exit codes: 0, 1 failure, 2 usage error.
 */
import { type InventoryEntry, listCertificates } from '@fleetgate/gateway/pki/inventory';
import { Command, Option } from 'commander';
import { withDeviceContext } from './device-common.ts';

interface ListOptions {
  dataDir: string;
  status?: 'active' | 'revoked';
  vehicle?: string;
  json?: boolean;
}

export function entryJson(e: InventoryEntry): Record<string, string | null> {
  return {
    vehicleId: e.subjectId,
    serialNumber: e.serialNumber,
    thumbprintSha256: e.thumbprintSha256,
    status: e.status,
    notBefore: e.notBefore.toISOString(),
    notAfter: e.notAfter.toISOString(),
    revokedAt: e.revokedAt?.toISOString() ?? null,
    revocationReason: e.revocationReason,
    replacedBy: e.replacedBy,
    issuedAt: e.issuedAt.toISOString(),
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function deviceListCommand(setExit: (code: number) => void): Command {
  return new Command('list')
    .description('list vehicle certificates: serial, thumbprint, status, validity, replaced_by')
    .requiredOption('--data-dir <dir>', 'data directory created by `fleetgate init`')
    .addOption(
      new Option('--status <status>', 'only active or revoked certificates').choices(['active', 'revoked']),
    )
    .option('--vehicle <id>', 'only this vehicle')
    .option('--json', 'print JSON lines')
    .action(async (opts: ListOptions) => {
      const entries = await withDeviceContext(opts.dataDir, false, ({ store }) =>
        listCertificates(store, {
          kind: 'vehicle',
          ...(opts.status === undefined ? {} : { status: opts.status }),
          ...(opts.vehicle === undefined ? {} : { subjectId: opts.vehicle }),
        }),
      );
      entries.sort(
        (a, b) => a.subjectId.localeCompare(b.subjectId) || a.issuedAt.getTime() - b.issuedAt.getTime(),
      );
      if (opts.json === true) {
        for (const e of entries) console.log(JSON.stringify(entryJson(e)));
      } else {
        const day = (d: Date) => d.toISOString().slice(0, 10);
        console.log(
          table([
            ['VEHICLE', 'SERIAL', 'STATUS', 'NOT BEFORE', 'NOT AFTER', 'SHA-256', 'REPLACED BY'],
            ...entries.map((e) => [
              e.subjectId,
              e.serialNumber,
              e.status === 'revoked' ? `revoked (${e.revocationReason ?? 'unspecified'})` : 'active',
              day(e.notBefore),
              day(e.notAfter),
              e.thumbprintSha256.slice(0, 16),
              e.replacedBy ?? '-',
            ]),
          ]),
        );
        console.log(`${entries.length} vehicle certificate${entries.length === 1 ? '' : 's'}`);
      }
      setExit(0);
    });
}
