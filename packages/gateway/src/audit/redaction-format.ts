/**
 * The stored form of a redacted audit entry (issue 7 §9 retention; docs/audit.md "Retention and redaction"),
 * and the signed statement that makes a redaction verifiable. Redaction replaces an entry's payload in
 * the store with a stub that keeps the entry's leaf hash, class and time, so the Merkle tree — and every
 * checkpoint, proof and replica — still verifies while the payload is gone.
 *
 * A stub is canonical JSON with a single top-level key `redacted` (no real entry has that key: entries are
 * versioned documents with `v`, `class`, `time`, …). The verifier cannot recompute a stub's leaf hash from
 * its bytes, so it takes the stub's `leafHash` and requires that the redaction itself is recorded in the
 * log by an `audit.entry.redacted` entry whose details carry a REDACTION STATEMENT signed by both audit
 * keys (Ed25519 and ML-DSA-65, the checkpoint keys).
 *
 * Threat (security review H10 #1): someone with write access to the database but not the audit keys
 * replaces a sealed entry by a stub that keeps its leaf hash and inserts a well-formed redaction record
 * at the tail; the gateway's next checkpoint covers that record. An unsigned record proved nothing, so
 * altering a sealed entry went unnoticed. The statement is signed by keys the database never holds, so a
 * record can only be made by the gateway (or the CLI with the data directory's keys), and the stub must
 * equal, field for field, the stub the signed statement describes.
 *
 * Statement (UTF-8, one `label value` per line, every line ending in "\n"; no value may hold a newline):
 *
 *   fleetgate.dev/audit-redaction/v1
 *   origin <log origin>
 *   index <redacted index, decimal>
 *   leaf-hash <hex leaf hash>
 *   class <redacted entry's class>
 *   time <redacted entry's time>
 *   redacted-at <ISO time of the redaction>
 *   reason-code <RETENTION_EXPIRED | OPERATOR_REQUEST | LEGAL_ERASURE>
 *   reason <the stub's reason text>
 *
 * Domain separation: the first line is not a log origin a checkpoint could name, the second line is never
 * a decimal tree size (so no statement parses as a C2SP checkpoint body, nor a checkpoint as a statement),
 * and the ML-DSA-65 signature is made under the FIPS 204 context `fleetgate.dev/audit-redaction/v1` (note
 * signatures use the empty context). Signatures: Ed25519 (RFC 8032, 64 bytes) and ML-DSA-65 (FIPS 204,
 * 3309 bytes), standard base64 in `details.signatures.{ed25519,mlDsa65}`.
 */
import type { KeyObject } from 'node:crypto';
import { fromHex, utf8 } from '@fleetgate/core/bytes';
import { ed25519Sign, ed25519Verify } from '@fleetgate/core/signature/ed25519';
import { mlDsa65Sign, mlDsa65Verify } from '@fleetgate/core/signature/ml-dsa-65';
import { type AuditValue, canonicalJson } from './canonical-json.ts';
import { retentionEnds } from './retention/policy.ts';

export interface RedactionStub {
  /** Hex SHA-256 leaf hash (RFC 9162, 0x00 prefix) of the original entry bytes. */
  leafHash: string;
  class: string;
  time: string;
  redactedAt: string;
  /** Why: 'retention' (the class's retention period ended) or an operator's stated reason. */
  reason: string;
}

export function redactionStubText(stub: RedactionStub): string {
  return canonicalJson({
    redacted: {
      leafHash: stub.leafHash,
      class: stub.class,
      time: stub.time,
      redactedAt: stub.redactedAt,
      reason: stub.reason,
    },
  });
}

/** The stub in a stored entry's text, or null when the entry is not a (well-formed) redaction stub. */
export function parseRedactionStub(entryText: string): RedactionStub | null {
  if (!entryText.startsWith('{"redacted":')) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(entryText);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Object.keys(parsed).length !== 1) return null;
  const inner = (parsed as { redacted?: unknown }).redacted;
  if (typeof inner !== 'object' || inner === null) return null;
  const r = inner as Record<string, unknown>;
  const fields = ['leafHash', 'class', 'time', 'redactedAt', 'reason'] as const;
  if (Object.keys(r).length !== fields.length || !fields.every((f) => typeof r[f] === 'string')) return null;
  const stub: RedactionStub = {
    leafHash: r.leafHash as string,
    class: r.class as string,
    time: r.time as string,
    redactedAt: r.redactedAt as string,
    reason: r.reason as string,
  };
  if (!/^[0-9a-f]{64}$/.test(stub.leafHash)) return null;
  if (redactionStubText(stub) !== entryText) return null;
  return stub;
}

/** The leaf hash a stub stands for, as bytes. */
export function stubLeafHash(stub: RedactionStub): Uint8Array {
  return fromHex(stub.leafHash);
}

// ---- the signed redaction statement -------------------------------------------------------------

export const REDACTION_STATEMENT_DOMAIN = 'fleetgate.dev/audit-redaction/v1';
const CONTEXT = utf8(REDACTION_STATEMENT_DOMAIN);

/**
 * The minimum retention of every audit class (config: 2-7 years). A redaction for `RETENTION_EXPIRED` or
 * `OPERATOR_REQUEST` of an entry younger than this is refused by the redactor and by the verifier; only a
 * `LEGAL_ERASURE` (`fleetgate audit redact --legal-erasure`) may redact a younger entry.
 */
export const MIN_RETENTION_YEARS = 2;

/** Why an entry was redacted; signed, so the verifier's listing of redactions can be trusted. */
export type RedactionReasonCode = 'RETENTION_EXPIRED' | 'OPERATOR_REQUEST' | 'LEGAL_ERASURE';
const REASON_CODES: ReadonlySet<string> = new Set(['RETENTION_EXPIRED', 'OPERATOR_REQUEST', 'LEGAL_ERASURE']);

export interface RedactionStatement {
  origin: string;
  /** The redacted entry's index. */
  index: number;
  leafHash: string;
  redactedClass: string;
  entryTime: string;
  redactedAt: string;
  reasonCode: RedactionReasonCode;
  /** The stub's reason text. */
  reason: string;
}

export interface RedactionSignatures {
  /** Standard base64 of the 64-byte Ed25519 signature. */
  ed25519: string;
  /** Standard base64 of the 3309-byte ML-DSA-65 signature. */
  mlDsa65: string;
}

/** The bytes both audit keys sign; TypeError when a field would make them ambiguous. */
export function redactionStatementBytes(s: RedactionStatement): Uint8Array {
  const fields: [string, string][] = [
    ['origin', s.origin],
    ['index', String(s.index)],
    ['leaf-hash', s.leafHash],
    ['class', s.redactedClass],
    ['time', s.entryTime],
    ['redacted-at', s.redactedAt],
    ['reason-code', s.reasonCode],
    ['reason', s.reason],
  ];
  if (!Number.isSafeInteger(s.index) || s.index < 0) throw new TypeError('redaction index is not an index');
  for (const [label, value] of fields) {
    if (/[\n\r]/.test(value)) throw new TypeError(`redaction statement ${label} holds a line break`);
  }
  return utf8(`${REDACTION_STATEMENT_DOMAIN}\n${fields.map(([l, v]) => `${l} ${v}\n`).join('')}`);
}

/** Signs a statement with both audit keys (the gateway's and the CLI's AuditLog.signRedaction). */
export function signRedactionStatement(
  statement: RedactionStatement,
  keys: { privateKey: KeyObject; mlDsaPrivateKey: KeyObject },
): RedactionSignatures {
  const bytes = redactionStatementBytes(statement);
  return {
    ed25519: Buffer.from(ed25519Sign(keys.privateKey, bytes)).toString('base64'),
    mlDsa65: Buffer.from(mlDsa65Sign(keys.mlDsaPrivateKey, bytes, CONTEXT)).toString('base64'),
  };
}

/** The `details` of an `audit.entry.redacted` record: the statement's fields and both signatures. */
export function redactionRecordDetails(
  statement: RedactionStatement,
  signatures: RedactionSignatures,
): { [key: string]: AuditValue } {
  return {
    index: statement.index,
    leafHash: statement.leafHash,
    redactedClass: statement.redactedClass,
    entryTime: statement.entryTime,
    redactedAt: statement.redactedAt,
    reasonCode: statement.reasonCode,
    reason: statement.reason,
    signatures: { ed25519: signatures.ed25519, mlDsa65: signatures.mlDsa65 },
  };
}

/** A redaction record whose statement verified with both pinned keys. */
export interface VerifiedRedaction {
  statement: RedactionStatement;
  /** The exact stub text the redacted entry must now hold. */
  stubText: string;
}

export type RedactionRecordCheck =
  | { kind: 'verified'; redaction: VerifiedRedaction }
  | { kind: 'invalid'; problem: string };

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Checks the `details` of an `audit.entry.redacted` record found at `recordIndex` (hostile: parsed
 * defensively, every failure a reason, never an exception): the statement's fields are well-formed, both
 * signatures verify with the pinned keys over the statement for `origin`, the record comes after the
 * entry it redacts, redaction records themselves are never redacted, and a `RETENTION_EXPIRED` or
 * `OPERATOR_REQUEST` redaction is at least MIN_RETENTION_YEARS after the entry's time.
 */
export function checkRedactionRecord(
  details: AuditValue | undefined,
  recordIndex: number,
  keys: { origin: string; publicKey: KeyObject; mlDsaPublicKey: KeyObject },
): RedactionRecordCheck {
  const invalid = (problem: string): RedactionRecordCheck => ({ kind: 'invalid', problem });
  if (typeof details !== 'object' || details === null || Array.isArray(details)) {
    return invalid('redaction record has no details');
  }
  const d = details as { [key: string]: AuditValue };
  const { index, leafHash, redactedClass, entryTime, redactedAt, reasonCode, reason, signatures } = d;
  if (
    typeof index !== 'number' ||
    !Number.isSafeInteger(index) ||
    index < 0 ||
    typeof leafHash !== 'string' ||
    !/^[0-9a-f]{64}$/.test(leafHash) ||
    typeof redactedClass !== 'string' ||
    typeof entryTime !== 'string' ||
    typeof redactedAt !== 'string' ||
    typeof reasonCode !== 'string' ||
    !REASON_CODES.has(reasonCode) ||
    typeof reason !== 'string'
  ) {
    return invalid('redaction record details are incomplete or malformed');
  }
  if (typeof signatures !== 'object' || signatures === null || Array.isArray(signatures)) {
    return invalid('redaction record is not signed by the audit keys (no signatures)');
  }
  const sigs = signatures as { [key: string]: AuditValue };
  const statement: RedactionStatement = {
    origin: keys.origin,
    index,
    leafHash,
    redactedClass,
    entryTime,
    redactedAt,
    reasonCode: reasonCode as RedactionReasonCode,
    reason,
  };
  let bytes: Uint8Array;
  try {
    bytes = redactionStatementBytes(statement);
  } catch {
    return invalid('redaction record details hold a line break');
  }
  const decode = (v: AuditValue | undefined): Uint8Array | undefined =>
    typeof v === 'string' && v.length <= 8192 && B64.test(v)
      ? new Uint8Array(Buffer.from(v, 'base64'))
      : undefined;
  const ed = decode(sigs.ed25519);
  const ml = decode(sigs.mlDsa65);
  // Each key on its own, so the report says which signature is missing or fails (one stripped never passes).
  if (ed === undefined) return invalid('redaction record has no Ed25519 signature by the audit key');
  if (ml === undefined) return invalid('redaction record has no ML-DSA-65 signature by the audit key');
  if (!ed25519Verify(keys.publicKey, bytes, ed)) {
    return invalid('redaction record Ed25519 signature does not verify with the audit key');
  }
  if (!mlDsa65Verify(keys.mlDsaPublicKey, bytes, ml, CONTEXT)) {
    return invalid('redaction record ML-DSA-65 signature does not verify with the audit key');
  }
  if (index >= recordIndex) {
    return invalid(`redaction record names index ${index}, not an entry before it`);
  }
  if (redactedClass === 'audit.entry.redacted') {
    return invalid('redaction records are never redacted');
  }
  const entryAt = Date.parse(entryTime);
  const redactedAtMs = Date.parse(redactedAt);
  if (!Number.isFinite(entryAt) || !Number.isFinite(redactedAtMs) || redactedAtMs < entryAt) {
    return invalid('redaction record times are malformed or the redaction precedes the entry');
  }
  if (!minimumRetentionMet(entryTime, redactedAt) && reasonCode !== 'LEGAL_ERASURE') {
    return invalid(
      `${reasonCode} redaction less than ${MIN_RETENTION_YEARS} years after the entry (only LEGAL_ERASURE may)`,
    );
  }
  const stubText = redactionStubText({ leafHash, class: redactedClass, time: entryTime, redactedAt, reason });
  return { kind: 'verified', redaction: { statement, stubText } };
}

/** Whether `redactedAt` is at least MIN_RETENTION_YEARS calendar years (UTC) after `entryTime`. */
export function minimumRetentionMet(entryTime: string, redactedAt: string): boolean {
  const entryAt = new Date(entryTime);
  const at = Date.parse(redactedAt);
  return (
    Number.isFinite(entryAt.getTime()) &&
    Number.isFinite(at) &&
    retentionEnds(entryAt, MIN_RETENTION_YEARS).getTime() <= at
  );
}
