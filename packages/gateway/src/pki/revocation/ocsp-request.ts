/**
 * Parses an OCSP request (RFC 6960 §4.1.1) from hostile bytes. Every failure is a value, never a throw:
 * the responder answers it with the OCSP `malformedRequest` status (§2.3), and the gateway keeps serving.
 *
 * Limits (the request is attacker-controlled; parse defensively):
 *   - at most MAX_OCSP_REQUEST_BYTES, and the outer SEQUENCE must span the input exactly (no trailing
 *     bytes, no indefinite length);
 *   - version v1 only; 1 to MAX_CERT_IDS single requests;
 *   - a CertID's serial is 1 to 21 octets (20 plus a sign octet, RFC 5280 §4.1.2.2), its hash algorithm
 *     parameters absent or NULL;
 *   - a nonce (id-pkix-ocsp-nonce) of 1 to 32 octets (RFC 8954 §2.1: anything else is
 *     malformedRequest); its extension value is kept as received, to be echoed byte for byte;
 *   - an unrecognised *critical* extension in the request or a single request is malformedRequest;
 *     unrecognised non-critical ones are ignored (§4.4).
 * A signed request is accepted and its signature ignored: requests are not authenticated (§4.1.2).
 */

import { type CertID, id_pkix_ocsp_nonce, OCSPRequest } from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import type { Extension } from '@peculiar/asn1-x509';

export const MAX_OCSP_REQUEST_BYTES = 8 * 1024;
export const MAX_CERT_IDS = 16;

/** Hash algorithms a CertID may use (RFC 6960 §4.1.1 leaves it open; SHA-1 is what OpenSSL sends). */
export const CERT_ID_HASHES: Readonly<Record<string, 'sha1' | 'sha256' | 'sha384' | 'sha512'>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

export interface ParsedCertId {
  /** The CertID as parsed, echoed in the SingleResponse. */
  readonly raw: CertID;
  /** Node hash name, or undefined for an algorithm we do not support (answered as not ours). */
  readonly hash: 'sha1' | 'sha256' | 'sha384' | 'sha512' | undefined;
  readonly issuerNameHash: Uint8Array;
  readonly issuerKeyHash: Uint8Array;
  /** Lower-case hex of the serial's DER content octets (as received, sign octet included). */
  readonly serialHex: string;
}

export type ParsedOcspRequest =
  | { readonly ok: true; readonly certIds: readonly ParsedCertId[]; readonly nonce: Uint8Array | undefined }
  | { readonly ok: false; readonly problem: string };

const malformed = (problem: string): ParsedOcspRequest => ({ ok: false, problem });

/** Total length of the DER TLV starting at 0 (definite lengths of up to 4 octets), or undefined. */
function outerLength(bytes: Uint8Array): number | undefined {
  const first = bytes[1];
  if (bytes[0] !== 0x30 || first === undefined) return undefined;
  if (first < 0x80) return 2 + first;
  const octets = first & 0x7f;
  if (octets === 0 || octets > 4 || bytes.length < 2 + octets) return undefined;
  let length = 0;
  for (let i = 0; i < octets; i += 1) length = length * 256 + (bytes[2 + i] ?? 0);
  return 2 + octets + length;
}

function criticalUnknown(extensions: readonly Extension[] | undefined, known: readonly string[]): boolean {
  return (extensions ?? []).some((e) => e.critical && !known.includes(e.extnID));
}

/** The nonce's extension value as received, or a problem. */
function nonceOf(extensions: readonly Extension[] | undefined): Uint8Array | undefined | string {
  const found = (extensions ?? []).filter((e) => e.extnID === id_pkix_ocsp_nonce);
  if (found.length === 0) return undefined;
  if (found.length > 1) return 'more than one nonce';
  const value = new Uint8Array((found[0] as Extension).extnValue.buffer);
  let inner: number;
  try {
    // RFC 8954: Nonce ::= OCTET STRING (SIZE(1..32)), DER-encoded inside extnValue.
    inner = AsnConvert.parse(value, OctetString).byteLength;
  } catch {
    return 'nonce is not an OCTET STRING';
  }
  if (inner < 1 || inner > 32 || value.length !== inner + 2) return 'nonce must be 1 to 32 octets';
  return value;
}

export function parseOcspRequest(bytes: Uint8Array): ParsedOcspRequest {
  if (bytes.length === 0 || bytes.length > MAX_OCSP_REQUEST_BYTES) {
    return malformed(`request must be 1 to ${MAX_OCSP_REQUEST_BYTES} bytes`);
  }
  if (outerLength(bytes) !== bytes.length) return malformed('not one DER SEQUENCE');
  let request: OCSPRequest;
  try {
    request = AsnConvert.parse(bytes, OCSPRequest);
  } catch {
    return malformed('not an OCSPRequest');
  }
  try {
    const tbs = request.tbsRequest;
    if (tbs.version !== 0) return malformed('unsupported version');
    const list = tbs.requestList ?? [];
    if (list.length < 1 || list.length > MAX_CERT_IDS) return malformed(`1 to ${MAX_CERT_IDS} CertIDs`);
    if (criticalUnknown(tbs.requestExtensions, [id_pkix_ocsp_nonce])) {
      return malformed('unrecognised critical request extension');
    }
    const nonce = nonceOf(tbs.requestExtensions);
    if (typeof nonce === 'string') return malformed(nonce);
    const certIds: ParsedCertId[] = [];
    for (const single of list) {
      if (criticalUnknown(single.singleRequestExtensions, [])) {
        return malformed('unrecognised critical single-request extension');
      }
      const id = single.reqCert;
      const params = id.hashAlgorithm.parameters;
      if (params !== undefined && params !== null) {
        const p = new Uint8Array(params);
        if (!(p.length === 2 && p[0] === 0x05 && p[1] === 0x00)) return malformed('hash parameters');
      }
      const serial = new Uint8Array(id.serialNumber);
      if (serial.length < 1 || serial.length > 21) return malformed('serial must be 1 to 21 octets');
      certIds.push({
        raw: id,
        hash: CERT_ID_HASHES[id.hashAlgorithm.algorithm],
        issuerNameHash: new Uint8Array(id.issuerNameHash.buffer),
        issuerKeyHash: new Uint8Array(id.issuerKeyHash.buffer),
        serialHex: Buffer.from(serial).toString('hex'),
      });
    }
    return { ok: true, certIds, nonce };
  } catch {
    // A lazily decoded field of a hostile request that does not have the expected shape.
    return malformed('request fields do not have the expected shape');
  }
}
