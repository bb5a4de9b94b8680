/**
 * The retention pass (docs/audit.md "Retention and redaction"): finds entries whose class's retention
 * period (policy.ts) has ended and redacts them (redact.ts) — or, with `dryRun`, only reports them.
 *
 * Scanning: for each retention period P in use, a durable cursor (feed_cursors consumer
 * `retention:<P>y:<policy digest>`) marks how far the log has been examined for period P. A pass reads
 * on from it in index order and stops at the first entry younger than P: entries are appended in time
 * order (within the clock skew of the gateway nodes), so everything past that point is younger too, and
 * a pass costs only what has newly expired. The digest in the name restarts the scan when the policy
 * changes. Already-redacted entries and redaction records are passed over.
 */
import type { Logger } from 'pino';
import type { AuditRetentionConfig } from '../../config/config.ts';
import { toSafeNumber } from '../../store/store.ts';
import { readCursor, saveCursor } from '../../tendering/lifecycle-feed.ts';
import { parseRedactionStub } from '../redaction-format.ts';
import { periodsInUse, policyDigest, retentionEnds, retentionYearsFor } from './policy.ts';
import { classAndTime, type RedactionDeps, redactEntries } from './redact.ts';

export const RETENTION_ACTOR = { kind: 'system', id: 'retention' } as const;

/** Entries read per query, and redacted per transaction. */
const SCAN_BATCH = 1_000;
const REDACT_BATCH = 200;
/** Most entries listed by index in a report (the counts are always complete). */
const REPORT_INDICES = 1_000;

export interface RetentionOptions {
  dryRun?: boolean;
  /** Stop after this many redactions; the next pass continues (bounds one pass's work). */
  maxRedactions?: number;
  logger?: Pick<Logger, 'info' | 'warn'>;
}

export interface RetentionReport {
  dryRun: boolean;
  /** Entries examined. */
  scanned: number;
  /** Entries whose retention has ended (redacted, or would be with dryRun). */
  due: number;
  /** Entries redacted by this pass (0 with dryRun). */
  redacted: number;
  byClass: Record<string, number>;
  /** The first REPORT_INDICES due indices. */
  indices: number[];
}

export async function runRetention(
  deps: RedactionDeps,
  config: AuditRetentionConfig,
  options: RetentionOptions = {},
): Promise<RetentionReport> {
  const dryRun = options.dryRun ?? false;
  const max = options.maxRedactions ?? 100_000;
  const now = deps.now();
  const digest = policyDigest(config);
  const report: RetentionReport = { dryRun, scanned: 0, due: 0, redacted: 0, byClass: {}, indices: [] };
  for (const years of periodsInUse(config)) {
    const consumer = `retention:${years}y:${digest}`;
    let cursor = await readCursor(deps.store, consumer);
    for (let young = false; !young && report.due < max; ) {
      const rows = await deps.store.query<{ idx: string; entry: string }>(
        'SELECT idx, entry FROM audit_entries WHERE idx > $1 ORDER BY idx LIMIT $2',
        [String(cursor), SCAN_BATCH],
      );
      const due: number[] = [];
      let examined = cursor;
      for (const row of rows) {
        const index = toSafeNumber(row.idx);
        if (parseRedactionStub(row.entry) === null) {
          const doc = classAndTime(row.entry);
          if (doc !== null) {
            if (retentionEnds(new Date(doc.time), years) > now) {
              young = true;
              break;
            }
            if (retentionYearsFor(doc.class, config) === years) {
              due.push(index);
              report.byClass[doc.class] = (report.byClass[doc.class] ?? 0) + 1;
              if (report.indices.length < REPORT_INDICES) report.indices.push(index);
            }
          } else {
            options.logger?.warn({ index }, 'retention: entry is not an audit document; left as it is');
          }
        }
        report.scanned += 1;
        examined = index;
        if (report.due + due.length >= max) break;
      }
      report.due += due.length;
      if (!dryRun) {
        for (let i = 0; i < due.length; i += REDACT_BATCH) {
          const done = await redactEntries(
            deps,
            due.slice(i, i + REDACT_BATCH).map((index) => ({ index, reason: 'retention' })),
            { ...RETENTION_ACTOR },
            { strict: false, reasonCode: 'RETENTION_EXPIRED' },
          );
          report.redacted += done.length;
        }
        if (examined > cursor) await saveCursor(deps.store, consumer, examined, deps.now());
      }
      cursor = examined;
      if (rows.length < SCAN_BATCH) break;
    }
  }
  if (!dryRun && report.redacted > 0) {
    options.logger?.info(
      { redacted: report.redacted, byClass: report.byClass },
      'retention: entries redacted',
    );
  }
  return report;
}
