/**
 * The core package's coded error. Codes form a closed union and are never reused or renamed
 * (CONVENTIONS.md §4); messages never carry key bytes or payloads.
 */
export type CoreErrorCode =
  | 'CORE_INVALID_ENCODING'
  | 'CORE_INVALID_ARGUMENT'
  | 'CORE_INVALID_KEY'
  | 'CORE_MERKLE_INVALID_PROOF'
  | 'CORE_MERKLE_INVALID_RANGE'
  | 'CORE_NOTE_MALFORMED'
  | 'CORE_NOTE_UNVERIFIED';

export class CoreError extends Error {
  readonly code: CoreErrorCode;

  constructor(code: CoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CoreError';
    this.code = code;
  }
}
