/**
 * `fleetgate audit retention run [--dry-run] --data-dir DIR`: one retention pass now — entries whose
 * class's retention period (config `audit.retention`, 2-7 years) has ended get their payload replaced by
 * the redaction stub, each recorded by an `audit.entry.redacted` entry; with --dry-run, only the report
 * of what would be redacted (nothing is written, no cursor moves).
 *
 * `fleetgate audit redact --index N --reason "…" --data-dir DIR [--operator ID] [--legal-erasure]`: an
 * operator's redaction of one entry, with a mandatory reason, recorded the same way (reason code
 * OPERATOR_REQUEST). An entry younger than the minimum retention (2 years) is refused unless
 * `--legal-erasure` declares a legal erasure obligation, which is signed into the record as reason code
 * LEGAL_ERASURE and listed by `audit verify`. The leaf hash, checkpoints and proofs are untouched
 * (gateway/src/audit/retention/redact.ts).
 *
 * Exit codes: 0 done, 1 refused or failed (e.g. AUDIT_REDACTION_REFUSED), 2 usage error. With the
 * embedded PGlite store stop the gateway first (one process owns the data directory).
 */

import { checkReason, redactEntries } from '@fleetgate/gateway/audit/retention/redact';
import { runRetention } from '@fleetgate/gateway/audit/retention/run';
import { GatewayError } from '@fleetgate/gateway/errors/gateway-error';
import { Command, InvalidArgumentError } from 'commander';
import { operatorActor, type PartnerContextOptions, withPartnerContext } from './partner-context.ts';

export function auditRetentionCommand(
  setExit: (code: number) => void,
  options: PartnerContextOptions = {},
): Command {
  const retention = new Command('retention').description('per-class retention of audit entry payloads');
  retention.addCommand(
    new Command('run')
      .description('redact the payload of entries past their retention period (or report them: --dry-run)')
      .requiredOption('--data-dir <dir>', 'data directory')
      .option('--dry-run', 'report what would be redacted, change nothing')
      .option('--json', 'print the report as JSON')
      .action(async (opts: { dataDir: string; dryRun?: boolean; json?: boolean }) => {
        const report = await withPartnerContext(
          opts.dataDir,
          (ctx) => runRetention(ctx, ctx.config.audit.retention, { dryRun: opts.dryRun === true }),
          options,
        );
        if (opts.json === true) {
          console.log(JSON.stringify(report, null, 2));
        } else {
          const verb = report.dryRun ? 'would redact' : 'redacted';
          console.log(
            `retention: scanned ${report.scanned}, ${verb} ${report.dryRun ? report.due : report.redacted}`,
          );
          for (const [cls, n] of Object.entries(report.byClass)) console.log(`  ${cls}: ${n}`);
        }
        setExit(0);
      }),
  );
  return retention;
}

export function auditRedactCommand(
  setExit: (code: number) => void,
  options: PartnerContextOptions = {},
): Command {
  return new Command('redact')
    .description("replace one entry's payload by its redaction stub (keeps its leaf hash), with a reason")
    .requiredOption('--data-dir <dir>', 'data directory')
    .requiredOption('--index <n>', 'audit index of the entry', parseIndex)
    .requiredOption('--reason <text>', 'why (recorded in the stub and in the audit log), 1-500 characters')
    .option('--operator <id>', 'who redacts, for the audit log (default: $USER)')
    .option(
      '--legal-erasure',
      'a legal erasure obligation: allows entries younger than the minimum retention (recorded as LEGAL_ERASURE)',
    )
    .action(
      async (opts: {
        dataDir: string;
        index: number;
        reason: string;
        operator?: string;
        legalErasure?: boolean;
      }) => {
        const actor = operatorActor(opts.operator);
        try {
          const reason = checkReason(opts.reason);
          const reasonCode = opts.legalErasure === true ? 'LEGAL_ERASURE' : 'OPERATOR_REQUEST';
          const [done] = await withPartnerContext(
            opts.dataDir,
            (ctx) =>
              redactEntries(ctx, [{ index: opts.index, reason }], actor, {
                strict: true,
                reasonCode,
              }),
            options,
          );
          if (done === undefined)
            throw new GatewayError('AUDIT_REDACTION_REFUSED', `entry ${opts.index} was not redacted`);
          console.log(
            `redacted entry ${done.index} (${done.class}); leaf hash ${done.leafHash} kept; recorded (${reasonCode}, signed) at index ${done.recordIndex}`,
          );
          setExit(0);
        } catch (error) {
          if (error instanceof GatewayError && error.code === 'AUDIT_REDACTION_REFUSED') {
            console.error(`fleetgate audit redact: ${error.message}`);
            setExit(1);
            return;
          }
          throw error;
        }
      },
    );
}

function parseIndex(value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new InvalidArgumentError('--index must be a non-negative integer');
  return Number(value);
}
