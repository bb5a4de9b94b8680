/**
 * The one place that loads @peculiar/x509, the certificate *builder* (ARCHITECTURE.md: build only; all
 * parsing of peer input uses node:crypto, and path validation is OpenSSL's in the handshake).
 *
 * Why a loader: @peculiar/x509 2.x imports tsyringe, which throws at import time unless the Reflect
 * metadata polyfill is present. `reflect-metadata` (the library's documented requirement, Apache-2.0) is
 * loaded first, here and nowhere else, so every import of the builder goes through this module.
 *
 * The WebCrypto provider is passed explicitly to every call, never set on the library's global
 * `cryptoProvider`. It is node:crypto's WebCrypto, except that `subtle.sign` with a key made by
 * `ecdsaSigningKey(signer)` delegates to that CaSigner (pki/keys/signer.ts): a CA key held by a key
 * provider (an encrypted file, a PKCS#11 token) signs certificates and CRLs without ever becoming a
 * CryptoKey or leaving its provider. Any other key goes to node's WebCrypto unchanged. The dispatch is
 * by key object identity (a WeakMap), not a global setting: nothing here can be reconfigured.
 */
import { type KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { type CaSigner, isCaSigner } from '../keys/signer.ts';

type X509Module = typeof import('@peculiar/x509');
type WebCrypto = Parameters<X509Module['X509CertificateGenerator']['create']>[1];

async function loadX509(): Promise<X509Module> {
  await import('reflect-metadata');
  return import('@peculiar/x509');
}

export const x509: X509Module = await loadX509();

const nodeSubtle = webcrypto.subtle;
/** Stand-in CryptoKeys for provider-held CA keys → the signer that signs for them. */
const delegated = new WeakMap<object, CaSigner>();

async function sign(
  algorithm: Parameters<typeof nodeSubtle.sign>[0],
  key: webcrypto.CryptoKey,
  data: Parameters<typeof nodeSubtle.sign>[2],
): Promise<ArrayBuffer> {
  const signer = delegated.get(key);
  if (signer === undefined) return nodeSubtle.sign(algorithm, key, data);
  const name = typeof algorithm === 'string' ? algorithm : algorithm.name;
  const hash = typeof algorithm === 'string' ? undefined : (algorithm as { hash?: unknown }).hash;
  const hashName = typeof hash === 'string' ? hash : (hash as { name?: unknown } | undefined)?.name;
  if (name !== 'ECDSA' || hashName !== 'SHA-256') {
    throw new TypeError('a CA signer only makes ecdsa-with-SHA256 signatures');
  }
  const bytes = ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data);
  const signature = await signer.sign(bytes);
  return signature.slice().buffer;
}

const subtle = new Proxy(nodeSubtle, {
  get(target, property) {
    if (property === 'sign') return sign;
    const value: unknown = Reflect.get(target, property, target);
    return typeof value === 'function' ? value.bind(target) : value;
  },
});

const delegatingCrypto = Object.freeze({
  subtle,
  getRandomValues: <T extends ArrayBufferView | null>(array: T): T =>
    webcrypto.getRandomValues(array as never),
  randomUUID: () => webcrypto.randomUUID(),
});

/**
 * node:crypto's WebCrypto (with signing delegated for provider-held CA keys, see above), typed as the
 * DOM `Crypto` the library's signatures name.
 */
export const webCrypto = delegatingCrypto as unknown as NonNullable<WebCrypto>;

/** ecdsa-with-SHA256 (RFC 5758 §3.2): the only signature algorithm fleetgate CAs use. */
export const ECDSA_WITH_SHA256: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

/**
 * The WebCrypto signing key @peculiar/x509 needs (`signingKey`, with `webCrypto` as the crypto): for a
 * P-256 private KeyObject a non-extractable CryptoKey; for a CaSigner a stand-in key object that only
 * `webCrypto.subtle.sign` understands, so the signature is made by the signer's provider.
 */
export function ecdsaSigningKey(privateKey: KeyObject | CaSigner): webcrypto.CryptoKey {
  if (!isCaSigner(privateKey)) {
    return privateKey.toCryptoKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  }
  const standIn = Object.freeze({
    type: 'private',
    extractable: false,
    algorithm: Object.freeze({ name: 'ECDSA', namedCurve: 'P-256' }),
    usages: Object.freeze(['sign']),
    [Symbol.toStringTag]: 'CryptoKey',
  });
  delegated.set(standIn, privateKey);
  return standIn as unknown as webcrypto.CryptoKey;
}

/** SubjectPublicKeyInfo DER of a public (or private) KeyObject, as an ArrayBuffer-backed view. */
export function spkiDer(key: KeyObject): Uint8Array<ArrayBuffer> {
  return new Uint8Array(key.export({ format: 'der', type: 'spki' }));
}

/**
 * A random positive serial number (RFC 5280 §4.1.2.2: positive, at most 20 octets; CA/B Forum asks for
 * at least 64 random bits). 16 octets with the top bit cleared (positive) and the next set (so the DER
 * INTEGER is always exactly 16 octets, with no leading-zero or sign-padding edge cases): 126 random bits.
 */
export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex');
}
