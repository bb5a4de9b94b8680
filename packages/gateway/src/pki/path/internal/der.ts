/**
 * A strict DER reader (ITU-T X.690 §8 and §10) for the X.509 structures path validation reads:
 * certificates and CRLs (RFC 5280 §4.1, §5.1), names, extensions.
 *
 * Threat: every byte read here comes from a peer. A lenient BER reader lets one certificate have two
 * readings (indefinite lengths, non-minimal lengths, padded integers, BOOLEAN 0x01), which is how
 * signature-checking and policy-checking code come to disagree about what was signed. So this reader
 * accepts DER only and throws `DerError` for anything else; the callers turn that into a coded
 * PATH_MALFORMED result, never an exception that escapes validation.
 *
 * Limits: low-tag-number form only (every X.509 tag is below 31); lengths of at most 4 octets and never
 * past the end of the enclosing value; OIDs of at most 32 arcs; INTEGER values read as numbers only
 * when they fit in 31 bits. Recursion depth is bounded by the callers, which follow the fixed X.509
 * schema rather than descending into arbitrary structures.
 */

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

/** Universal and context tags (the whole identifier octet) used by X.509. */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  NUMERIC_STRING: 0x12,
  PRINTABLE_STRING: 0x13,
  TELETEX_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE_STRING: 0x1a,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** [n] IMPLICIT primitive, and [n] constructed (EXPLICIT or IMPLICIT SEQUENCE). */
export const contextPrimitive = (n: number): number => 0x80 | n;
export const contextConstructed = (n: number): number => 0xa0 | n;

/** One TLV: `bytes` is the whole encoding (header included), `value` the contents. */
export interface Tlv {
  readonly tag: number;
  readonly bytes: Uint8Array;
  readonly value: Uint8Array;
}

const MAX_LENGTH_OCTETS = 4;

/** Reads consecutive TLVs from `data`; `read()` past the end or on invalid DER throws DerError. */
export class DerReader {
  readonly #data: Uint8Array;
  #offset = 0;

  constructor(data: Uint8Array) {
    this.#data = data;
  }

  hasMore(): boolean {
    return this.#offset < this.#data.length;
  }

  /** The identifier octet of the next TLV, or undefined at the end. */
  peekTag(): number | undefined {
    return this.hasMore() ? this.#data[this.#offset] : undefined;
  }

  read(): Tlv {
    const data = this.#data;
    const start = this.#offset;
    const tag = data[start];
    if (tag === undefined) throw new DerError('unexpected end of data');
    if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not used in X.509');
    const first = data[start + 1];
    if (first === undefined) throw new DerError('missing length');
    let length = 0;
    let header = 2;
    if (first < 0x80) {
      length = first;
    } else {
      const count = first & 0x7f;
      if (count === 0) throw new DerError('indefinite length is not DER');
      if (count > MAX_LENGTH_OCTETS) throw new DerError('length too large');
      for (let i = 0; i < count; i++) {
        const octet = data[start + 2 + i];
        if (octet === undefined) throw new DerError('truncated length');
        if (i === 0 && octet === 0) throw new DerError('non-minimal length');
        length = length * 256 + octet;
      }
      if (length < 0x80) throw new DerError('non-minimal length');
      header = 2 + count;
    }
    const end = start + header + length;
    if (end > data.length) throw new DerError('value runs past the end');
    this.#offset = end;
    return { tag, bytes: data.subarray(start, end), value: data.subarray(start + header, end) };
  }

  /** The next TLV, which must carry `tag`. */
  expect(tag: number, what: string): Tlv {
    const tlv = this.read();
    if (tlv.tag !== tag) throw new DerError(`${what}: unexpected tag`);
    return tlv;
  }

  /** The next TLV if it carries `tag`, otherwise nothing is consumed. */
  optional(tag: number): Tlv | undefined {
    return this.peekTag() === tag ? this.read() : undefined;
  }

  /** Throws unless every byte was consumed (no trailing data inside a structure). */
  end(what: string): void {
    if (this.hasMore()) throw new DerError(`${what}: trailing data`);
  }
}

/** The single TLV that makes up `data`, with nothing after it. */
export function readWhole(data: Uint8Array, tag: number, what: string): Tlv {
  const reader = new DerReader(data);
  const tlv = reader.expect(tag, what);
  reader.end(what);
  return tlv;
}

/** A reader over the contents of a constructed TLV. */
export function contents(tlv: Tlv): DerReader {
  if ((tlv.tag & 0x20) === 0) throw new DerError('expected a constructed value');
  return new DerReader(tlv.value);
}

/** INTEGER contents, checked for minimal two's-complement encoding (X.690 §8.3.2). */
export function integerBytes(tlv: Tlv): Uint8Array {
  const v = tlv.value;
  const b0 = v[0];
  const b1 = v[1];
  if (b0 === undefined) throw new DerError('empty INTEGER');
  if (b1 !== undefined && ((b0 === 0x00 && b1 < 0x80) || (b0 === 0xff && b1 >= 0x80))) {
    throw new DerError('non-minimal INTEGER');
  }
  return v;
}

/** A non-negative INTEGER small enough for a number (at most 31 bits); larger or negative values throw. */
export function smallInteger(tlv: Tlv, what: string): number {
  const v = integerBytes(tlv);
  if ((v[0] ?? 0) >= 0x80) throw new DerError(`${what}: negative`);
  if (v.length > 4 || (v.length === 4 && (v[0] ?? 0) >= 0x80)) throw new DerError(`${what}: too large`);
  let n = 0;
  for (const octet of v) n = n * 256 + octet;
  return n;
}

/** BOOLEAN: DER allows exactly 0x00 and 0xFF (X.690 §11.1). */
export function boolean(tlv: Tlv): boolean {
  if (tlv.value.length !== 1) throw new DerError('BOOLEAN length');
  if (tlv.value[0] === 0xff) return true;
  if (tlv.value[0] === 0x00) return false;
  throw new DerError('BOOLEAN is not DER');
}

export function expectNull(tlv: Tlv): void {
  if (tlv.tag !== TAG.NULL || tlv.value.length !== 0) throw new DerError('expected NULL');
}

const MAX_OID_ARCS = 32;

/** OBJECT IDENTIFIER contents as dotted decimal (X.690 §8.19), with minimal base-128 subidentifiers. */
export function oid(tlv: Tlv): string {
  if (tlv.tag !== TAG.OID) throw new DerError('expected OBJECT IDENTIFIER');
  const v = tlv.value;
  if (v.length === 0 || v.length > 128) throw new DerError('OBJECT IDENTIFIER length');
  const arcs: number[] = [];
  let value = 0;
  let fresh = true;
  for (const octet of v) {
    if (fresh && octet === 0x80) throw new DerError('non-minimal OBJECT IDENTIFIER');
    if (value > 0x1fffffff) throw new DerError('OBJECT IDENTIFIER arc too large');
    value = value * 128 + (octet & 0x7f);
    fresh = (octet & 0x80) === 0;
    if (fresh) {
      if (arcs.length === 0) {
        const first = value < 40 ? 0 : value < 80 ? 1 : 2;
        arcs.push(first, value - first * 40);
      } else {
        arcs.push(value);
      }
      if (arcs.length > MAX_OID_ARCS) throw new DerError('OBJECT IDENTIFIER has too many arcs');
      value = 0;
    }
  }
  if (!fresh) throw new DerError('truncated OBJECT IDENTIFIER');
  return arcs.join('.');
}

export interface BitString {
  readonly bytes: Uint8Array;
  readonly unusedBits: number;
}

/** BIT STRING (X.690 §11.2): unused bits 0–7, zero when empty, and the unused bits themselves zero. */
export function bitString(tlv: Tlv): BitString {
  const unused = tlv.value[0];
  if (unused === undefined || unused > 7) throw new DerError('BIT STRING header');
  const bytes = tlv.value.subarray(1);
  const last = bytes[bytes.length - 1];
  if (last === undefined) {
    if (unused !== 0) throw new DerError('empty BIT STRING with unused bits');
  } else if ((last & ((1 << unused) - 1)) !== 0) {
    throw new DerError('BIT STRING unused bits are not zero');
  }
  return { bytes, unusedBits: unused };
}

/** Bit `n` (0 = most significant bit of the first octet) of a named-bit BIT STRING. */
export function bit(bits: BitString, n: number): boolean {
  const octet = bits.bytes[n >> 3];
  return octet !== undefined && (octet & (0x80 >> (n & 7))) !== 0;
}

function digits(text: string, from: number, count: number): number {
  const part = text.slice(from, from + count);
  if (!/^[0-9]+$/.test(part) || part.length !== count) throw new DerError('time digits');
  return Number(part);
}

/**
 * UTCTime `YYMMDDHHMMSSZ` or GeneralizedTime `YYYYMMDDHHMMSSZ`, the only forms RFC 5280 §4.1.2.5.1–2
 * allows (seconds present, Zulu, no fractions). UTCTime years 50–99 are 19xx, 00–49 are 20xx.
 */
export function time(tlv: Tlv): Date {
  const text = ascii(tlv.value);
  let year: number;
  let rest: number;
  if (tlv.tag === TAG.UTC_TIME && text.length === 13) {
    const yy = digits(text, 0, 2);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    rest = 2;
  } else if (tlv.tag === TAG.GENERALIZED_TIME && text.length === 15) {
    year = digits(text, 0, 4);
    // Years before 1950 cannot be written as UTCTime either; nothing legitimate uses them.
    if (year < 1950) throw new DerError('time before 1950');
    rest = 4;
  } else {
    throw new DerError('time is not UTCTime or GeneralizedTime in the RFC 5280 form');
  }
  if (text[text.length - 1] !== 'Z') throw new DerError('time is not in Zulu');
  const month = digits(text, rest, 2);
  const day = digits(text, rest + 2, 2);
  const hour = digits(text, rest + 4, 2);
  const minute = digits(text, rest + 6, 2);
  const second = digits(text, rest + 8, 2);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(ms);
  // Date.UTC rolls over out-of-range fields (month 13, day 32); a round trip catches them.
  if (
    month < 1 ||
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  ) {
    throw new DerError('time out of range');
  }
  return date;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function ascii(bytes: Uint8Array): string {
  for (const b of bytes) if (b >= 0x80) throw new DerError('non-ASCII byte in an ASCII string');
  return latin1(bytes);
}

function utf16be(bytes: Uint8Array): string {
  if (bytes.length % 2 !== 0) throw new DerError('BMPString length');
  let out = '';
  for (let i = 0; i < bytes.length; i += 2)
    out += String.fromCharCode(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  return out;
}

function utf32be(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new DerError('UniversalString length');
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    const cp =
      (((bytes[i] ?? 0) << 24) |
        ((bytes[i + 1] ?? 0) << 16) |
        ((bytes[i + 2] ?? 0) << 8) |
        (bytes[i + 3] ?? 0)) >>>
      0;
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new DerError('UniversalString code point');
    out += String.fromCodePoint(cp);
  }
  return out;
}

/** The text of a character-string TLV, or undefined when `tlv` is not one of the string types. */
export function stringValue(tlv: Tlv): string | undefined {
  const v = tlv.value;
  switch (tlv.tag) {
    case TAG.UTF8_STRING:
      try {
        return utf8.decode(v);
      } catch {
        throw new DerError('invalid UTF-8');
      }
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case TAG.VISIBLE_STRING:
    case TAG.NUMERIC_STRING:
      return ascii(v);
    case TAG.TELETEX_STRING:
      // T.61 is in practice Latin-1 in certificates; treated as such for comparison only.
      return latin1(v);
    case TAG.BMP_STRING:
      return utf16be(v);
    case TAG.UNIVERSAL_STRING:
      return utf32be(v);
    default:
      return undefined;
  }
}

/** IA5String contents (dNSName, rfc822Name, URI), ASCII only. */
export function ia5(tlv: Tlv): string {
  return ascii(tlv.value);
}

/** Constant-free byte equality (inputs are public: DER of certificates and names). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
