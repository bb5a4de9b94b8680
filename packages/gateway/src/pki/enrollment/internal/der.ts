/**
 * A strict DER (ITU-T X.690 §10) element reader and writer, just enough for EST: slicing the received
 * PKCS#10 request into its parts (so the self-signature is verified over the bytes received, never over
 * a re-serialisation) and writing the degenerate CMS SignedData of an EST response around certificate
 * bytes copied verbatim.
 *
 * Threat: a hostile request. The reader accepts DER only — one-byte tags (no high tag numbers),
 * definite lengths in minimal form, at most 4 length octets, never past the end of the input — and
 * throws DerError for anything else; callers turn that into a coded refusal.
 */

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

export interface DerElement {
  /** The identifier octet (class, constructed bit and tag number < 31). */
  readonly tag: number;
  /** Offset of the identifier octet. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** Offset just past the element. */
  readonly end: number;
}

export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_NULL = 0x05;
export const TAG_OID = 0x06;
export const TAG_SEQUENCE = 0x30;
export const TAG_SET = 0x31;
export const TAG_CONTEXT_0 = 0xa0;

/** Reads the element at `offset`, which must end at or before `limit`. */
export function readElement(der: Uint8Array, offset: number, limit: number = der.byteLength): DerElement {
  if (offset + 2 > limit) throw new DerError('truncated element');
  const tag = der[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not used here');
  const first = der[offset + 1] as number;
  let length: number;
  let contentStart: number;
  if (first < 0x80) {
    length = first;
    contentStart = offset + 2;
  } else {
    const octets = first & 0x7f;
    if (octets === 0) throw new DerError('indefinite length is not DER');
    if (octets > 4) throw new DerError('length too large');
    if (offset + 2 + octets > limit) throw new DerError('truncated length');
    length = 0;
    for (let i = 0; i < octets; i += 1) length = length * 256 + (der[offset + 2 + i] as number);
    if (der[offset + 2] === 0 || length < 0x80) throw new DerError('length not in minimal form');
    contentStart = offset + 2 + octets;
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError('element runs past its container');
  return { tag, start: offset, contentStart, end };
}

/** The elements directly inside a constructed element, which they must fill exactly. */
export function children(der: Uint8Array, parent: DerElement, max = 64): DerElement[] {
  const out: DerElement[] = [];
  let offset = parent.contentStart;
  while (offset < parent.end) {
    if (out.length === max) throw new DerError('too many elements');
    const element = readElement(der, offset, parent.end);
    out.push(element);
    offset = element.end;
  }
  return out;
}

/** The one element that spans the whole input (no trailing bytes). */
export function readWhole(der: Uint8Array, tag: number): DerElement {
  const element = readElement(der, 0);
  if (element.tag !== tag) throw new DerError('unexpected outer tag');
  if (element.end !== der.byteLength) throw new DerError('trailing bytes after the outer element');
  return element;
}

export function bytesOf(der: Uint8Array, element: DerElement): Uint8Array {
  return der.subarray(element.start, element.end);
}

export function contentOf(der: Uint8Array, element: DerElement): Uint8Array {
  return der.subarray(element.contentStart, element.end);
}

// The writer is core's (shared with the edge SDK); the strict reader above is the gateway's own.
export {
  encodeDer as encode,
  encodeDerOid as encodeOid,
  encodeDerSetOf as encodeSetOf,
} from '@fleetgate/core/der-write';
