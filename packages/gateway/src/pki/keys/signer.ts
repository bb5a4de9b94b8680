/**
 * The CA signing interface every key provider implements (docs/pki.md "Key custody"): ECDSA P-256 with
 * SHA-256 (RFC 5758 §3.2, ecdsa-with-SHA256), the only signature fleetgate CAs make. A signer exposes its
 * public key and a `sign` operation — never the private key. Two real providers implement it: the
 * encrypted local file (file-provider.ts) and a PKCS#11 token (pkcs11-provider.ts).
 *
 * Signatures come back in the IEEE P1363 form (r || s, 32 octets each), which is what WebCrypto's ECDSA
 * returns and what @peculiar/x509 turns into the DER ECDSA-Sig-Value of RFC 3279 §2.2.3 itself;
 * `derSignature` does that conversion for callers that assemble ASN.1 on their own.
 *
 * Threat: CA key disclosure. The private key stays inside its provider (a PKCS#11 token that marks it
 * sensitive and non-extractable, or an AES-256-GCM ciphertext decrypted only into a KeyObject held in a
 * closure); neither this interface nor any error or log line carries key bytes, PINs or passphrases.
 */
import { createPublicKey, type KeyObject, sign as nodeSign } from 'node:crypto';
import { PkiError } from '../errors.ts';

/** Where a CA private key is held. 'memory': a plain KeyObject (tests, foreign CAs, legacy plaintext). */
export type KeyCustody = 'memory' | 'file' | 'pkcs11';

export interface CaSigner {
  readonly kind: 'ca-signer';
  readonly custody: KeyCustody;
  /** Where the key is, for operators (`fleetgate ca status`): a path or a token and object label. */
  readonly description: string;
  /** The P-256 public key; the signer's certificate must certify exactly this key. */
  readonly publicKey: KeyObject;
  /** ECDSA P-256 over SHA-256(data), as IEEE P1363 r || s (64 octets). */
  sign(data: Uint8Array): Promise<Uint8Array>;
  /** Releases what the provider holds for this key (a PKCS#11 session); idempotent. */
  close(): Promise<void>;
}

export const P256_SIGNATURE_BYTES = 64;

export function isCaSigner(value: unknown): value is CaSigner {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'ca-signer' &&
    typeof (value as { sign?: unknown }).sign === 'function'
  );
}

export function isP256PublicKey(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

/**
 * A signer over an in-process P-256 private KeyObject. The file provider uses it after decryption; the
 * KeyObject lives only in this closure and is not reachable from the returned object.
 */
export function keyObjectSigner(privateKey: KeyObject, custody: KeyCustody, description: string): CaSigner {
  if (privateKey.type !== 'private' || !isP256PublicKey(privateKey)) {
    throw new PkiError('PKI_INVALID_ARGUMENT', 'a CA key must be a P-256 private key');
  }
  const publicKey = createPublicKey(privateKey);
  let closed = false;
  return Object.freeze({
    kind: 'ca-signer' as const,
    custody,
    description,
    publicKey,
    sign: async (data: Uint8Array): Promise<Uint8Array> => {
      if (closed) throw new PkiError('PKI_KEY_UNAVAILABLE', 'the CA signer was closed');
      return new Uint8Array(nodeSign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
    },
    close: async (): Promise<void> => {
      closed = true;
    },
  });
}

function derInteger(unsigned: Uint8Array): Uint8Array {
  let start = 0;
  while (start < unsigned.length - 1 && unsigned[start] === 0) start += 1;
  const body = unsigned.subarray(start);
  const pad = (body[0] ?? 0) & 0x80 ? 1 : 0; // a set top bit would read as negative
  const out = new Uint8Array(2 + pad + body.length);
  out[0] = 0x02;
  out[1] = pad + body.length;
  out.set(body, 2 + pad);
  return out;
}

/** IEEE P1363 r || s (64 octets) → DER `SEQUENCE { INTEGER r, INTEGER s }` (RFC 3279 §2.2.3). */
export function derSignature(p1363: Uint8Array): Uint8Array {
  if (p1363.length !== P256_SIGNATURE_BYTES) {
    throw new PkiError('PKI_INVALID_ARGUMENT', 'a P-256 signature is 64 octets (r || s)');
  }
  const r = derInteger(p1363.subarray(0, 32));
  const s = derInteger(p1363.subarray(32));
  // At most 2 × 35 octets: the SEQUENCE length always fits the short form.
  const out = new Uint8Array(2 + r.length + s.length);
  out[0] = 0x30;
  out[1] = r.length + s.length;
  out.set(r, 2);
  out.set(s, 2 + r.length);
  return out;
}
