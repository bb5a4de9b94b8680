/**
 * The one place that loads @peculiar/x509, the certificate *builder* (ARCHITECTURE.md: build only; all
 * parsing of peer input uses node:crypto, and path validation is OpenSSL's in the handshake).
 *
 * Why a loader: @peculiar/x509 2.x imports tsyringe, which throws at import time unless the Reflect
 * metadata polyfill is present. `reflect-metadata` (the library's documented requirement, Apache-2.0) is
 * loaded first, here and nowhere else, so every import of the builder goes through this module.
 *
 * The WebCrypto provider is passed explicitly to every call, never set on the library's global
 * `cryptoProvider`. Signing keys stay node:crypto KeyObjects and are converted per issuance.
 */
import { type KeyObject, randomBytes, webcrypto } from 'node:crypto';

type X509Module = typeof import('@peculiar/x509');
type WebCrypto = Parameters<X509Module['X509CertificateGenerator']['create']>[1];

async function loadX509(): Promise<X509Module> {
  await import('reflect-metadata');
  return import('@peculiar/x509');
}

export const x509: X509Module = await loadX509();

/** node:crypto's WebCrypto, typed as the DOM `Crypto` the library's signatures name. */
export const webCrypto = webcrypto as unknown as NonNullable<WebCrypto>;

/** ecdsa-with-SHA256 (RFC 5758 §3.2): the only signature algorithm fleetgate CAs use. */
export const ECDSA_WITH_SHA256: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

/** Converts a P-256 private KeyObject into a non-extractable WebCrypto signing key. */
export function ecdsaSigningKey(privateKey: KeyObject): webcrypto.CryptoKey {
  return privateKey.toCryptoKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
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
