/**
 * Redaction of audit entries (issue 7 §9; docs/audit.md "Retention and redaction"): the entry's payload
 * in the store is replaced by the stub of redaction-format.ts, which keeps the ORIGINAL leaf hash, class
 * and time; in the same transaction one `audit.entry.redacted` entry per index is appended whose details
 * carry the redaction statement (index, leaf hash, class, entry time, redaction time, reason code, reason)
 * signed by BOTH audit keys — the record the verifier requires for every stub it meets.
 *
 * Only `audit_entries.entry` changes: idx, leaf_hash, checkpoints, tiles and the compact range are never
 * touched, so every checkpoint, inclusion and consistency proof and every replica stays valid.
 *
 * Threats: redaction used to hide tampering — before replacing a payload its bytes must still produce
 * the stored leaf hash (AUDIT_LOG_INCONSISTENT otherwise; nothing is redacted), and the redaction itself
 * is a logged decision whose record only the audit keys can sign (a database writer cannot forge one:
 * security review H10 #1); redaction used to erase recent evidence (yesterday's refused login) — an entry
 * younger than the minimum retention (MIN_RETENTION_YEARS) is refused unless the operator declares a
 * legal erasure (reason code LEGAL_ERASURE, signed into the record and listed by `audit verify`);
 * erasing the evidence of a redaction — redaction records are never redacted (AUDIT_REDACTION_REFUSED);
 * two redactors at once — the UPDATE is conditional on the payload it read, so an index is redacted, and
 * recorded, once.
 */
import { toHex, utf8 } from '@fleetgate/core/bytes';
import { leafHash } from '@fleetgate/core/merkle/hash';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { Store } from '../../store/store.ts';
import { toSafeNumber } from '../../store/store.ts';
import type { AuditActor, AuditEvent } from '../event.ts';
import type { AuditLog } from '../log.ts';
import {
  MIN_RETENTION_YEARS,
  minimumRetentionMet,
  parseRedactionStub,
  type RedactionReasonCode,
  redactionRecordDetails,
  redactionStubText,
} from '../redaction-format.ts';
import { NEVER_REDACTED } from './policy.ts';

export interface RedactionDeps {
  store: Store;
  audit: AuditLog;
  now: () => Date;
}

export interface RedactionRequest {
  index: number;
  /** 'retention', or an operator's stated reason; kept in the stub and the signed record. */
  reason: string;
}

export interface Redaction {
  index: number;
  class: string;
  leafHash: string;
  /** Index of the `audit.entry.redacted` record. */
  recordIndex: number;
}

/** An operator's reason: 1-500 characters, no control characters, not only blanks. */
const REASON = /^[^\p{Cc}]{1,500}$/u;

export function checkReason(reason: string): string {
  if (!REASON.test(reason) || reason.trim() === '') {
    throw new GatewayError(
      'AUDIT_REDACTION_REFUSED',
      'a redaction needs a reason of 1-500 printable characters',
    );
  }
  return reason;
}

/**
 * Redacts the given indices in one transaction. `strict` (an operator's request): an index that cannot
 * be redacted refuses the whole request with AUDIT_REDACTION_REFUSED. Not strict (the retention job):
 * such an index is skipped. An entry younger than MIN_RETENTION_YEARS cannot be redacted but for
 * `LEGAL_ERASURE`. Returns what was redacted.
 */
export async function redactEntries(
  deps: RedactionDeps,
  requests: readonly RedactionRequest[],
  actor: AuditActor,
  options: { strict: boolean; reasonCode: RedactionReasonCode },
): Promise<Redaction[]> {
  if (requests.length === 0) return [];
  const redactedAt = deps.now().toISOString();
  return deps.store.transaction(async (tx) => {
    const rows = await tx.query<{ idx: string; leaf_hash: Uint8Array; entry: string }>(
      'SELECT idx, leaf_hash, entry FROM audit_entries WHERE idx = ANY($1::int8[]) ORDER BY idx',
      [requests.map((r) => String(r.index))],
    );
    const byIndex = new Map(rows.map((r) => [toSafeNumber(r.idx), r]));
    const refuse = (detail: string): void => {
      if (options.strict) throw new GatewayError('AUDIT_REDACTION_REFUSED', detail);
    };
    const done: Omit<Redaction, 'recordIndex'>[] = [];
    const events: AuditEvent[] = [];
    for (const request of requests) {
      const row = byIndex.get(request.index);
      if (row === undefined) {
        refuse(`index ${request.index} is past the log`);
        continue;
      }
      if (parseRedactionStub(row.entry) !== null) {
        refuse(`entry ${request.index} is already redacted`);
        continue;
      }
      const hash = toHex(row.leaf_hash);
      if (toHex(leafHash(utf8(row.entry))) !== hash) {
        throw new GatewayError(
          'AUDIT_LOG_INCONSISTENT',
          `entry ${request.index} no longer produces its leaf hash; run fleetgate audit verify`,
        );
      }
      const doc = classAndTime(row.entry);
      if (doc === null) {
        refuse(`entry ${request.index} is not an audit document`);
        continue;
      }
      if (doc.class === NEVER_REDACTED) {
        refuse(`entry ${request.index} records a redaction; those are kept for the life of the log`);
        continue;
      }
      if (options.reasonCode !== 'LEGAL_ERASURE' && !minimumRetentionMet(doc.time, redactedAt)) {
        refuse(
          `entry ${request.index} is younger than the minimum retention of ${MIN_RETENTION_YEARS} years; ` +
            'only a legal erasure (--legal-erasure) may redact it',
        );
        continue;
      }
      const stub = redactionStubText({
        leafHash: hash,
        class: doc.class,
        time: doc.time,
        redactedAt,
        reason: request.reason,
      });
      const { statement, signatures } = deps.audit.signRedaction({
        index: request.index,
        leafHash: hash,
        redactedClass: doc.class,
        entryTime: doc.time,
        redactedAt,
        reasonCode: options.reasonCode,
        reason: request.reason,
      });
      const updated = await tx.query(
        'UPDATE audit_entries SET entry = $2 WHERE idx = $1 AND entry = $3 RETURNING idx',
        [String(request.index), stub, row.entry],
      );
      if (updated.length !== 1) continue; // redacted meanwhile by another node
      done.push({ index: request.index, class: doc.class, leafHash: hash });
      events.push({
        class: 'audit.entry.redacted',
        actor,
        subject: { kind: 'audit-entry', id: String(request.index) },
        outcome: 'recorded',
        reasons: [options.reasonCode],
        details: redactionRecordDetails(statement, signatures),
      });
    }
    // Last in the transaction, so the sequencer lock is held briefly (log.ts).
    const receipts = await deps.audit.appendManyInTx(tx, events);
    return done.map((d, i) => ({ ...d, recordIndex: (receipts[i] as { index: number }).index }));
  });
}

/** The class and time of a stored v1 audit document, or null. */
export function classAndTime(entry: string): { class: string; time: string } | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(entry);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const doc = parsed as { v?: unknown; class?: unknown; time?: unknown };
  if (doc.v !== 1 || typeof doc.class !== 'string' || typeof doc.time !== 'string') return null;
  if (!Number.isFinite(Date.parse(doc.time))) return null;
  return { class: doc.class, time: doc.time };
}
