/**
 * The one place revocation turns an IssuingCa into what @peculiar/x509 signs with (the CRL, crl.ts; the
 * OCSP responder certificate, responder-certificate.ts). Revocation never reads a CA key file: it gets
 * the CA from loadIssuingCa (pki/ca.ts), checks it like every issuer (assertUsableCa), and signs through
 * the builder internals (internal/x509-lib.ts) — so a change in how the CA key is held (PKCS#11, an
 * encrypted file) is adapted here, once, for both.
 *
 * Threat: a CA key used by a second, divergent signing path (one profile checked, the other not).
 */
import type { IssuingCa } from '../ca.ts';
import { assertUsableCa } from '../internal/build.ts';
import { ECDSA_WITH_SHA256, ecdsaSigningKey, webCrypto } from '../internal/x509-lib.ts';

export interface CaSigning {
  readonly signingKey: ReturnType<typeof ecdsaSigningKey>;
  readonly signingAlgorithm: typeof ECDSA_WITH_SHA256;
  readonly crypto: typeof webCrypto;
}

export function caSigning(ca: IssuingCa): CaSigning {
  assertUsableCa(ca);
  return {
    signingKey: ecdsaSigningKey(ca.privateKey),
    signingAlgorithm: ECDSA_WITH_SHA256,
    crypto: webCrypto,
  };
}
