/**
 * Shared syntax rules of C2SP signed-note (https://c2sp.org/signed-note) and tlog-checkpoint
 * (https://c2sp.org/tlog-checkpoint), not exported from the package.
 *
 * Limits (notes are hostile input until a trusted key's signature has verified):
 *  - a note, or a checkpoint body, is at most 1 MiB of UTF-8;
 *  - a note carries at most 100 signature lines (the spec requires accepting at least 16);
 *  - base64 is RFC 4648 §4 standard, padded, canonical: anything else is refused, not repaired.
 */
import { CoreError, type CoreErrorCode } from '../../errors.ts';

export const MAX_NOTE_BYTES = 1024 * 1024;
export const MAX_SIGNATURES = 100;

/** U+2014 EM DASH, U+0020 SPACE: the start of every signature line. */
export const SIGNATURE_PREFIX = '\u2014 ';

// Unicode spaces (White_Space and category Z, which covers Go's unicode.IsSpace), every control
// character (which includes U+0085 NEL) and '+'.
const NAME_FORBIDDEN_RE = /[\s\p{Z}\p{Cc}+]/u;
const BASE64_STD_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Key names: non-empty, well-formed, no Unicode space, no control character, no '+'. */
export function isValidKeyName(name: unknown): name is string {
  return typeof name === 'string' && name !== '' && name.isWellFormed() && !NAME_FORBIDDEN_RE.test(name);
}

/**
 * Note text rules: well-formed Unicode and, per signed-note, no "ASCII control characters (those
 * below U+0020) other than newline". DEL (U+007F) is not below U+0020 and is allowed, as in the
 * reference implementation (golang.org/x/mod/sumdb/note).
 */
export function isValidNoteString(text: string): boolean {
  if (!text.isWellFormed()) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return false;
  }
  return true;
}

export function toBase64Std(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Strict RFC 4648 §4 decoding: standard alphabet, padding required, zero trailing bits. */
export function fromBase64Std(text: string, code: CoreErrorCode, what: string): Uint8Array {
  if (!BASE64_STD_RE.test(text)) throw new CoreError(code, `${what} is not padded standard base64`);
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  if (toBase64Std(bytes) !== text) throw new CoreError(code, `${what} is not canonical base64`);
  return bytes;
}

const UTF8_DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes UTF-8 exactly (no BOM stripping, no replacement characters); `undefined` if invalid. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return UTF8_DECODER.decode(bytes);
  } catch {
    return undefined;
  }
}
