/**
 * Tokenizer for node:crypto's `X509Certificate.subjectAltName` text (the GeneralNames of RFC 5280
 * §4.2.1.6, rendered by node). Since the fix for CVE-2021-44532, node writes each name as `TYPE:value`
 * joined by ", ", and writes a value containing a comma, a quote, a backslash or a control character as
 * a JSON string literal (`URI:"…"`). A bare value therefore never contains a comma, and a quoted one
 * ends at its first unescaped quote; this tokenizer accepts exactly that grammar and refuses anything
 * else as PKI_MALFORMED_CERTIFICATE.
 *
 * Threat: SAN injection — a certificate whose single URI is `https://x, URI:urn:fleetgate:vehicle:v1`
 * must yield one name, not two. Limits: at most MAX_SUBJECT_ALT_NAMES entries; type names of at most
 * 32 characters.
 */
import { PkiError } from '../errors.ts';

/** At most this many SAN entries are read. */
export const MAX_SUBJECT_ALT_NAMES = 64;

export interface GeneralNameText {
  readonly type: string;
  readonly value: string;
}

const ENTRY_TYPE = /^[A-Za-z][A-Za-z0-9 ]{0,31}:/;

function malformed(message: string, cause?: unknown): PkiError {
  return new PkiError('PKI_MALFORMED_CERTIFICATE', message, cause === undefined ? undefined : { cause });
}

/** Splits node:crypto's `subjectAltName` text: `TYPE:value` or `TYPE:"json"` entries joined by ", ". */
export function splitSubjectAltNames(text: string): GeneralNameText[] {
  const names: GeneralNameText[] = [];
  let pos = 0;
  while (pos < text.length) {
    if (names.length === MAX_SUBJECT_ALT_NAMES) throw malformed('too many subjectAltName entries');
    const type = ENTRY_TYPE.exec(text.slice(pos, pos + 33))?.[0];
    if (type === undefined) throw malformed('unparseable subjectAltName');
    pos += type.length;
    let value: string;
    if (text[pos] === '"') {
      let end = pos + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (end >= text.length) throw malformed('unterminated quoted subjectAltName');
      try {
        value = JSON.parse(text.slice(pos, end + 1)) as string;
      } catch (cause) {
        throw malformed('invalid quoted subjectAltName', cause);
      }
      pos = end + 1;
    } else {
      const comma = text.indexOf(',', pos);
      const end = comma === -1 ? text.length : comma;
      value = text.slice(pos, end);
      pos = end;
    }
    names.push({ type: type.slice(0, -1), value });
    if (pos < text.length) {
      if (!text.startsWith(', ', pos)) throw malformed('unparseable subjectAltName separator');
      pos += 2;
      if (pos === text.length) throw malformed('trailing subjectAltName separator');
    }
  }
  return names;
}
