/**
 * C2SP tlog-checkpoint note text (https://c2sp.org/tlog-checkpoint, "Note text"):
 *
 *   <origin>\n
 *   <tree size, ASCII decimal, no leading zeros>\n
 *   <base64 (standard, padded) of the 32-byte RFC 6962 / RFC 9162 root hash>\n
 *   [<extension line>\n ...]          opaque, each non-empty, NOT RECOMMENDED
 *
 * This is the body of a signed note (./signed-note.ts): parse only text that verifyNote() returned.
 * parseCheckpoint() enforces the spec's MUSTs and our limits (1 MiB, tree size <= 2^53 - 1, a root of
 * exactly 32 bytes, canonical base64) and refuses anything else with CORE_NOTE_MALFORMED; it does not
 * assume the origin is a URL, as the spec forbids. formatCheckpoint() is stricter in what it emits: the
 * origin must also be a valid note key name (the spec's SHOULD: no spaces, no '+'), because our log
 * signs with the origin as its key name.
 */
import { CoreError } from '../errors.ts';
import { HASH_SIZE, isHash } from '../merkle/hash.ts';
import {
  fromBase64Std,
  isValidKeyName,
  isValidNoteString,
  MAX_NOTE_BYTES,
  toBase64Std,
} from './internal/syntax.ts';

export interface CheckpointInput {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** Opaque extension lines; each non-empty and without newlines. */
  readonly extensions?: readonly string[];
}

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly extensions: readonly string[];
}

const DECIMAL_RE = /^(?:0|[1-9][0-9]*)$/;

/** Formats the checkpoint note text, ending in '\n'; refuses invalid fields with CORE_INVALID_ARGUMENT. */
export function formatCheckpoint(checkpoint: CheckpointInput): string {
  const { origin, size, rootHash, extensions = [] } = checkpoint;
  if (!isValidKeyName(origin)) {
    throw new CoreError('CORE_INVALID_ARGUMENT', 'checkpoint origin must be a valid note key name');
  }
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new CoreError('CORE_INVALID_ARGUMENT', 'checkpoint size must be a non-negative safe integer');
  }
  if (!isHash(rootHash)) throw new CoreError('CORE_INVALID_ARGUMENT', `root hash must be ${HASH_SIZE} bytes`);
  if (!Array.isArray(extensions)) throw new CoreError('CORE_INVALID_ARGUMENT', 'extensions must be an array');
  for (const line of extensions) {
    if (typeof line !== 'string' || line === '' || line.includes('\n') || !isValidNoteString(line)) {
      throw new CoreError(
        'CORE_INVALID_ARGUMENT',
        'extension lines must be non-empty note text without newlines',
      );
    }
  }
  const text = [origin, String(size), toBase64Std(rootHash), ...extensions].map((l) => `${l}\n`).join('');
  if (Buffer.byteLength(text, 'utf8') > MAX_NOTE_BYTES) {
    throw new CoreError('CORE_INVALID_ARGUMENT', 'checkpoint exceeds 1 MiB');
  }
  return text;
}

/** Parses checkpoint note text strictly; every failure is CORE_NOTE_MALFORMED. */
export function parseCheckpoint(text: string): Checkpoint {
  if (
    typeof text !== 'string' ||
    text.length > MAX_NOTE_BYTES ||
    Buffer.byteLength(text, 'utf8') > MAX_NOTE_BYTES
  ) {
    throw new CoreError('CORE_NOTE_MALFORMED', 'checkpoint must be a string of at most 1 MiB');
  }
  if (!isValidNoteString(text)) {
    throw new CoreError('CORE_NOTE_MALFORMED', 'checkpoint is not Unicode text without control characters');
  }
  if (!text.endsWith('\n')) throw new CoreError('CORE_NOTE_MALFORMED', 'checkpoint must end in a newline');
  const lines = text.slice(0, -1).split('\n');
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (origin === undefined || sizeText === undefined || rootText === undefined) {
    throw new CoreError('CORE_NOTE_MALFORMED', 'checkpoint needs origin, size and root hash lines');
  }
  if (origin === '') throw new CoreError('CORE_NOTE_MALFORMED', 'checkpoint origin is empty');
  if (!DECIMAL_RE.test(sizeText)) {
    throw new CoreError('CORE_NOTE_MALFORMED', 'checkpoint size is not a decimal without leading zeros');
  }
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size))
    throw new CoreError('CORE_NOTE_MALFORMED', 'checkpoint size exceeds 2^53 - 1');
  const rootHash = fromBase64Std(rootText, 'CORE_NOTE_MALFORMED', 'checkpoint root hash');
  if (rootHash.byteLength !== HASH_SIZE) {
    throw new CoreError('CORE_NOTE_MALFORMED', `checkpoint root hash is not ${HASH_SIZE} bytes`);
  }
  if (extensions.some((line) => line === '')) {
    throw new CoreError('CORE_NOTE_MALFORMED', 'checkpoint extension lines must be non-empty');
  }
  return { origin, size, rootHash, extensions };
}
