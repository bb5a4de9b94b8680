/**
 * Reads one X12 interchange: the tolerant tokenizer (tokenize.ts) then the strict envelope validation
 * (validate-envelope.ts). Pure: no store, no I/O. Implements issue 6 (EDI X12, 4010 and 5010). Threat:
 * hostile partner files (OWASP API4, API10) — every failure is an EdiError with a stable code, limits are
 * applied before the work they bound (limits.ts).
 */
import type { EdiLimits } from './limits.ts';
import { tokenizeX12 } from './tokenize.ts';
import type { Interchange } from './types.ts';
import { validateInterchange } from './validate-envelope.ts';

export function parseInterchange(input: Uint8Array | string, limits: Partial<EdiLimits> = {}): Interchange {
  return validateInterchange(tokenizeX12(input, limits));
}
