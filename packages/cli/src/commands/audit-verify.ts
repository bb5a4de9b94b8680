/**
 * `fleetgate audit verify --data-dir DIR`: recomputes the audit log's Merkle tree from its entries and
 * checks every signed checkpoint with the audit public key. Exits 1 with a precise report (which index,
 * what is wrong) on any discrepancy, 0 when everything verifies.
 */
import { resolve } from 'node:path';
import { loadAuditVerifierKeys } from '@fleetgate/gateway/audit/keys';
import { type AuditVerifyReport, verifyAuditLog } from '@fleetgate/gateway/audit/verify';
import { loadConfig } from '@fleetgate/gateway/config/load';
import { openStore } from '@fleetgate/gateway/store';
import { Command } from 'commander';

export async function verifyDataDir(
  dataDirInput: string,
  requireSealed: boolean,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AuditVerifyReport> {
  const dataDir = resolve(dataDirInput);
  const config = loadConfig(dataDir, env);
  const store = await openStore(
    config.store.engine === 'pglite'
      ? { engine: 'pglite', dataDir: resolve(dataDir, 'store') }
      : { engine: 'postgres', url: config.store.url },
  );
  try {
    return await verifyAuditLog(store, {
      origin: config.audit.origin,
      ...loadAuditVerifierKeys(dataDir),
      requireSealed,
    });
  } finally {
    await store.close();
  }
}

export function formatReport(report: AuditVerifyReport): string {
  const lines = [
    `audit log: ${report.entries} entries, ${report.checkpoints} signed checkpoints, verified through size ${report.verifiedSize}` +
      (report.unsealedEntries > 0 ? `, ${report.unsealedEntries} not yet covered by a checkpoint` : ''),
  ];
  if (report.rootHash !== null) lines.push(`root hash: ${report.rootHash}`);
  for (const p of report.problems) {
    const where = p.index !== undefined ? `index ${p.index}` : `checkpoint at size ${p.checkpointSize}`;
    lines.push(`FAIL ${where}: ${p.problem}`);
  }
  lines.push(report.ok ? 'OK: the audit log verifies' : 'FAILED: the audit log does not verify');
  return lines.join('\n');
}

export function auditVerifyCommand(setExit: (code: number) => void): Command {
  return new Command('verify')
    .description('recompute the Merkle tree and check every signed checkpoint; exit 1 on any discrepancy')
    .requiredOption('--data-dir <dir>', 'data directory')
    .option(
      '--allow-unsealed',
      'do not fail on entries appended after the last checkpoint (a running gateway)',
    )
    .option('--json', 'print the report as JSON')
    .action(async (opts: { dataDir: string; allowUnsealed?: boolean; json?: boolean }) => {
      const report = await verifyDataDir(opts.dataDir, opts.allowUnsealed !== true);
      console.log(opts.json === true ? JSON.stringify(report, null, 2) : formatReport(report));
      setExit(report.ok ? 0 : 1);
    });
}
