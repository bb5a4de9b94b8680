/**
 * Canonical JSON for audit entries: object keys sorted by UTF-16 code units, no insignificant white
 * space, integers only (safe range) — for such values this equals RFC 8785 (JCS), so anyone can
 * recompute an entry's bytes and leaf hash. Non-finite numbers, fractions, undefined inside arrays and
 * nesting deeper than 32 are refused: an audit event is a flat, typed record, not arbitrary input.
 */

export type AuditValue =
  | string
  | number
  | boolean
  | null
  | readonly AuditValue[]
  | { [key: string]: AuditValue };

const MAX_DEPTH = 32;

export function canonicalJson(value: AuditValue): string {
  return write(value, 0);
}

function write(value: AuditValue, depth: number): string {
  if (depth > MAX_DEPTH) throw new TypeError('audit value nested too deeply');
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError('audit numbers must be safe integers');
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map((v: AuditValue) => write(v, depth + 1)).join(',')}]`;
  const obj = value as { [key: string]: AuditValue };
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${write(obj[k] as AuditValue, depth + 1)}`).join(',')}}`;
}
