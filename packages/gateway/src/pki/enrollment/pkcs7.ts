/**
 * The EST response body (RFC 7030 §4.1.3 and §4.2.3): a CMS "certs-only" Simple PKI Response — a
 * degenerate SignedData (RFC 5652 §5, RFC 5272 §4.1) with no signers, no digest algorithms and an
 * empty id-data content, whose `certificates` carry the certificates — base64-encoded (RFC 8951 §3)
 * in lines of 64 characters, the form `openssl base64 -d` and EST clients read.
 *
 * The certificates are copied byte for byte (never re-encoded), so a client receives exactly what the
 * CA signed; the SET OF is in DER order (X.690 §11.6), so clients pick the leaf by its key, not by
 * position.
 */
import type { X509Certificate } from 'node:crypto';
import {
  encode,
  encodeOid,
  encodeSetOf,
  TAG_CONTEXT_0,
  TAG_INTEGER,
  TAG_SEQUENCE,
  TAG_SET,
} from './internal/der.ts';

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_DATA = '1.2.840.113549.1.7.1';

/** The media type of both EST certificate responses. */
export const PKCS7_CERTS_ONLY = 'application/pkcs7-mime; smime-type=certs-only';

/** DER of a certs-only ContentInfo holding `certificates`. */
export function certsOnlyPkcs7(certificates: readonly X509Certificate[]): Uint8Array {
  const signedData = encode(
    TAG_SEQUENCE,
    encode(TAG_INTEGER, Uint8Array.of(1)), // CMSVersion v1: no attribute certificates, id-data content
    encode(TAG_SET), // digestAlgorithms: none
    encode(TAG_SEQUENCE, encodeOid(OID_DATA)), // encapContentInfo without eContent
    encodeSetOf(
      TAG_CONTEXT_0, // certificates [0] IMPLICIT CertificateSet
      certificates.map((c) => new Uint8Array(c.raw)),
    ),
    encode(TAG_SET), // signerInfos: none
  );
  return encode(TAG_SEQUENCE, encodeOid(OID_SIGNED_DATA), encode(TAG_CONTEXT_0, signedData));
}

/** Base64 in 64-character lines, each ended by a newline. */
export function base64Lines(der: Uint8Array): string {
  const text = Buffer.from(der).toString('base64');
  let out = '';
  for (let i = 0; i < text.length; i += 64) out += `${text.slice(i, i + 64)}\n`;
  return out;
}
