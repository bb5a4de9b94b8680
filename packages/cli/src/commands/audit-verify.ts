/**
 * `fleetgate audit verify --data-dir DIR | --from URL|DIR --vkey FILE [--ca FILE]`: recomputes the audit
 * log's Merkle tree from its entries and checks both signatures on every signed checkpoint — from the
 * store of a data directory, a replica directory (`audit replicate`) or a live gateway's public read
 * API. Exits 1 with a precise report (which index, what is wrong, a stable code) on any discrepancy,
 * 0 when everything verifies. One verification core for all three (gateway/src/audit/verify.ts).
 * Every redaction whose signed record verifies is listed (`redacted index N (class): REASON_CODE …`),
 * not as a failure. A source that cannot be read as the API says (a listing past its caps, a gateway
 * answering off-spec) prints one `fleetgate: <CODE>: …` line and exits 1.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadAuditVerifierKeys } from '@fleetgate/gateway/audit/keys';
import { ReplicaError } from '@fleetgate/gateway/audit/replica/errors';
import { type AuditVerifyReport, verifyAuditLog, verifyAuditSource } from '@fleetgate/gateway/audit/verify';
import { parsePinnedAuditKeys } from '@fleetgate/gateway/audit/verify-keys';
import {
  dirTlogReader,
  gatewayTlogReader,
  tlogAuditSource,
} from '@fleetgate/gateway/audit/verify-source-tiles';
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

/** Verifies a replica directory or a live gateway (`https://…`) against the pinned verifier keys. */
export async function verifyFrom(from: string, vkeyText: string, ca?: string): Promise<AuditVerifyReport> {
  const keys = parsePinnedAuditKeys(vkeyText);
  const reader = /^https:\/\//.test(from)
    ? gatewayTlogReader(from, ca === undefined ? {} : { ca })
    : dirTlogReader(resolve(from));
  const report = await verifyAuditSource(tlogAuditSource(reader), keys);
  if (report.checkpoints === 0) {
    // Nothing signed is nothing verified: an empty or wrong directory must not pass.
    report.ok = false;
    report.problems.push({
      code: 'AUDIT_CHECKPOINTS_MISSING',
      problem: `${from} holds no signed checkpoint`,
    });
  }
  return report;
}

export function formatReport(report: AuditVerifyReport): string {
  const lines = [
    `audit log: ${report.entries} entries, ${report.checkpoints} signed checkpoints, verified through size ${report.verifiedSize}` +
      (report.unsealedEntries > 0 ? `, ${report.unsealedEntries} not yet covered by a checkpoint` : '') +
      (report.redactedEntries > 0 ? `, ${report.redactedEntries} redacted` : ''),
  ];
  if (report.rootHash !== null) lines.push(`root hash: ${report.rootHash}`);
  for (const r of report.redactions) {
    lines.push(
      `redacted index ${r.index} (${r.class}): ${r.reasonCode} at ${r.redactedAt}, signed record at index ${r.recordIndex}`,
    );
  }
  if (report.redactions.length < report.redactedEntries && report.redactions.length > 0) {
    lines.push(`(${report.redactedEntries - report.redactions.length} more redacted entries not listed)`);
  }
  for (const p of report.problems) {
    const where =
      p.index !== undefined
        ? `index ${p.index}`
        : p.checkpointSize !== undefined
          ? `checkpoint at size ${p.checkpointSize}`
          : 'log';
    lines.push(`FAIL ${where}: ${p.problem} [${p.code}]`);
  }
  lines.push(report.ok ? 'OK: the audit log verifies' : 'FAILED: the audit log does not verify');
  return lines.join('\n');
}

interface Options {
  dataDir?: string;
  from?: string;
  vkey?: string;
  ca?: string;
  allowUnsealed?: boolean;
  json?: boolean;
}

export function auditVerifyCommand(setExit: (code: number) => void): Command {
  return new Command('verify')
    .description('recompute the Merkle tree and check every signed checkpoint; exit 1 on any discrepancy')
    .option('--data-dir <dir>', "a gateway's data directory (its store and audit keys)")
    .option('--from <url|dir>', 'a replica directory, or a gateway public listener https://host:port')
    .option('--vkey <file>', 'the two pinned verifier keys, required with --from')
    .option('--ca <file>', 'CA certificates (PEM) for an https:// --from')
    .option(
      '--allow-unsealed',
      'do not fail on entries appended after the last checkpoint (a running gateway)',
    )
    .option('--json', 'print the report as JSON')
    .action(async (opts: Options) => {
      if ((opts.dataDir === undefined) === (opts.from === undefined)) {
        console.error('fleetgate: give exactly one of --data-dir and --from');
        setExit(2);
        return;
      }
      let report: AuditVerifyReport;
      if (opts.from !== undefined) {
        if (opts.vkey === undefined) {
          console.error('fleetgate: --from needs --vkey FILE (the verifier keys, pinned out of band)');
          setExit(2);
          return;
        }
        const ca = opts.ca === undefined ? undefined : readFileSync(resolve(opts.ca), 'utf8');
        try {
          report = await verifyFrom(opts.from, readFileSync(resolve(opts.vkey), 'utf8'), ca);
        } catch (error) {
          if (!(error instanceof ReplicaError)) throw error;
          console.error(`fleetgate: ${error.code}: ${error.message}`);
          setExit(1);
          return;
        }
      } else {
        report = await verifyDataDir(opts.dataDir as string, opts.allowUnsealed !== true);
      }
      console.log(opts.json === true ? JSON.stringify(report, null, 2) : formatReport(report));
      setExit(report.ok ? 0 : 1);
    });
}
