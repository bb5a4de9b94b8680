/**
 * Per-class retention (issue 7 §9; docs/audit.md "Retention and redaction"): how many years an audit
 * entry keeps its payload before its payload is replaced by the redaction stub. The config maps audit
 * classes, or prefixes of whole dot-separated segments (`telemetry` covers `telemetry.batch.accepted`),
 * to 2-7 years (validated in config/validate.ts); the longest matching key wins, else `defaultYears`.
 *
 * `audit.entry.redacted` is never redacted: the verifier accepts a stub only with the record of its
 * redaction in the log, so those records must outlive every stub.
 */
import { createHash } from 'node:crypto';
import type { AuditRetentionConfig } from '../../config/config.ts';
import { canonicalJson } from '../canonical-json.ts';

export const NEVER_REDACTED = 'audit.entry.redacted';

/** Years `auditClass` keeps its payload, or null when it is never redacted. */
export function retentionYearsFor(auditClass: string, config: AuditRetentionConfig): number | null {
  if (auditClass === NEVER_REDACTED) return null;
  let best: string | undefined;
  for (const key of Object.keys(config.classes)) {
    if (
      (auditClass === key || auditClass.startsWith(`${key}.`)) &&
      (best === undefined || key.length > best.length)
    ) {
      best = key;
    }
  }
  return best === undefined ? config.defaultYears : (config.classes[best] as number);
}

/** The instant an entry timed `time` has been kept `years` calendar years (UTC). */
export function retentionEnds(time: Date, years: number): Date {
  const end = new Date(time.getTime());
  end.setUTCFullYear(end.getUTCFullYear() + years);
  return end;
}

/** The distinct periods in use, shortest first. */
export function periodsInUse(config: AuditRetentionConfig): number[] {
  return [...new Set([config.defaultYears, ...Object.values(config.classes)])].sort((a, b) => a - b);
}

/**
 * A short digest of the policy. Scan cursors are named with it, so a changed policy (a class moved to a
 * shorter period) rescans the log from the start instead of trusting cursors that skipped its entries.
 */
export function policyDigest(config: AuditRetentionConfig): string {
  const text = canonicalJson({ defaultYears: config.defaultYears, classes: { ...config.classes } });
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
