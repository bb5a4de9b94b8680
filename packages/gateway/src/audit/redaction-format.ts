/**
 * The stored form of a redacted audit entry (issue 7 §9 retention; docs/audit.md "Retention"). Redaction
 * replaces an entry's payload in the store with a stub that keeps the entry's leaf hash, class and time, so
 * the Merkle tree — and every checkpoint, proof and replica — still verifies while the payload is gone.
 *
 * A stub is canonical JSON with a single top-level key `redacted` (no real entry has that key: entries are
 * versioned documents with `v`, `class`, `time`, …). The verifier cannot recompute a stub's leaf hash from
 * its bytes, so it takes the stub's `leafHash` and requires that the redaction itself is recorded in the
 * log (an `audit.entry.redacted` entry naming the index and the same leaf hash): a row quietly replaced by
 * a stub is reported, not accepted.
 */
import { fromHex } from '@fleetgate/core/bytes';
import { canonicalJson } from './canonical-json.ts';

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
