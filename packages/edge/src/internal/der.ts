/**
 * A tiny DER (ITU-T X.690 §10) writer and strict reader, enough for the two fixed shapes the edge SDK
 * handles without an ASN.1 dependency: the PKCS#10 request it sends (an Ed25519 key, a CN and one SAN
 * URI) and the CMS certs-only response it receives.
 *
 * Threat: the response comes from the network. The reader accepts DER only — one-byte tags, definite
 * minimal lengths of at most 4 octets, nothing past its container — and throws EdgeError
 * EDGE_BAD_RESPONSE for anything else.
 */
import { EdgeError } from '../errors.ts';

export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_OID = 0x06;
export const TAG_UTF8_STRING = 0x0c;
export const TAG_SEQUENCE = 0x30;
export const TAG_SET = 0x31;
export const TAG_CONTEXT_0 = 0xa0;
/** [6] IMPLICIT IA5String: GeneralName.uniformResourceIdentifier. */
export const TAG_URI = 0x86;

// The writer is core's (shared with the gateway); the strict reader below is the edge's own.
export {
  encodeDer as encode,
  encodeDerOid as encodeOid,
  encodeDerText as encodeText,
} from '@fleetgate/core/der-write';

export interface DerElement {
  readonly tag: number;
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

function bad(message: string): EdgeError {
  return new EdgeError('EDGE_BAD_RESPONSE', `malformed DER: ${message}`);
}

export function readElement(der: Uint8Array, offset: number, limit: number = der.byteLength): DerElement {
  if (offset + 2 > limit) throw bad('truncated element');
  const tag = der[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw bad('high tag number');
  const first = der[offset + 1] as number;
  let length = first;
  let contentStart = offset + 2;
  if (first >= 0x80) {
    const octets = first & 0x7f;
    if (octets === 0 || octets > 4) throw bad('unsupported length form');
    if (offset + 2 + octets > limit) throw bad('truncated length');
    length = 0;
    for (let i = 0; i < octets; i += 1) length = length * 256 + (der[offset + 2 + i] as number);
    if (der[offset + 2] === 0 || length < 0x80) throw bad('length not minimal');
    contentStart += octets;
  }
  const end = contentStart + length;
  if (end > limit) throw bad('element past its container');
  return { tag, start: offset, contentStart, end };
}

export function children(der: Uint8Array, parent: DerElement, max = 64): DerElement[] {
  const out: DerElement[] = [];
  for (let offset = parent.contentStart; offset < parent.end; ) {
    if (out.length === max) throw bad('too many elements');
    const element = readElement(der, offset, parent.end);
    out.push(element);
    offset = element.end;
  }
  return out;
}

export function expectTag(element: DerElement | undefined, tag: number, what: string): DerElement {
  if (element?.tag !== tag) throw bad(`expected ${what}`);
  return element;
}
