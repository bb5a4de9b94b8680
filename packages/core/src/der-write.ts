/**
 * A minimal DER (ITU-T X.690 §10) writer: definite minimal lengths, OIDs, text, and SET OF in the
 * sorted order §11.6 requires. Enough for the fixed shapes the edge SDK and the gateway build without an
 * ASN.1 dependency (PKCS#10 requests, certs-only CMS). Reading untrusted DER stays with each package's
 * strict reader, which throws that package's coded error.
 */

const TAG_OID = 0x06;

function lengthOctets(length: number): number[] {
  if (length < 0x80) return [length];
  const octets: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) octets.unshift(n % 256);
  return [0x80 | octets.length, ...octets];
}

/** One DER element with the given one-byte tag around the concatenated contents. */
export function encodeDer(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const length = contents.reduce((sum, c) => sum + c.byteLength, 0);
  const header = Uint8Array.from([tag, ...lengthOctets(length)]);
  const out = new Uint8Array(header.byteLength + length);
  out.set(header, 0);
  let offset = header.byteLength;
  for (const c of contents) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/** An OBJECT IDENTIFIER from its dotted form (trusted input: our own constants). */
export function encodeDerOid(dotted: string): Uint8Array {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const body: number[] = [];
  for (const arc of [a * 40 + b, ...rest]) {
    const groups: number[] = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) groups.unshift((n & 0x7f) | 0x80);
    body.push(...groups);
  }
  return encodeDer(TAG_OID, Uint8Array.from(body));
}

/** A string type (UTF8String, IA5String, …) holding `text` as UTF-8. */
export function encodeDerText(tag: number, text: string): Uint8Array {
  return encodeDer(tag, new TextEncoder().encode(text));
}

/** A DER SET OF: the member encodings sorted as X.690 §11.6 requires. */
export function encodeDerSetOf(tag: number, items: readonly Uint8Array[]): Uint8Array {
  const sorted = [...items].sort((x, y) => Buffer.compare(x, y));
  return encodeDer(tag, ...sorted);
}
