/**
 * Signs a certificate revocation list for the issuing CA: RFC 5280 §5.1 CertificateList, version 2,
 * signed ecdsa-with-SHA256 by the intermediate's key through the same builder internals as every
 * certificate (internal/x509-lib.ts, via ca-signing.ts), with
 *   - authorityKeyIdentifier (§5.2.1, non-critical): the CA's subjectKeyIdentifier, so a relying party
 *     picks the right key after a CA rotation;
 *   - cRLNumber (§5.2.3, non-critical): a monotonically increasing integer, kept in the store so several
 *     gateway nodes never publish two CRLs under one number (crl-publisher.ts);
 *   - per entry, reasonCode (§5.3.1, non-critical), omitted for "unspecified" as §5.3.1 asks;
 *   - the issuer name copied byte for byte from the CA certificate's subject, so name matching in
 *     OpenSSL, Mosquitto and any RFC 5280 validator is exact.
 * nextUpdate is always present (§5.1.2.5: conforming CAs MUST include it).
 *
 * The CRL is parsed back and its signature verified against the CA certificate's public key before it
 * is returned, like every certificate build.ts produces.
 *
 * Threats: a CRL that verifies under no key (relying parties would fail closed and refuse everyone, or
 * worse, some would ignore it) — checked; a CRL number that goes backwards (a relying party keeping the
 * newest would keep a stale list) — the caller passes a strictly increasing number from the store.
 */
import type { IssuingCa } from '../ca.ts';
import { PkiError } from '../errors.ts';
import { webCrypto, x509 } from '../internal/x509-lib.ts';
import { caSigning } from './ca-signing.ts';
import { type RevocationReason, reasonCode } from './reasons.ts';

export const OID_CRL_NUMBER = '2.5.29.20';

export interface CrlEntry {
  /** Lower-case hex, as stored in the inventory. */
  readonly serialNumber: string;
  readonly revokedAt: Date;
  readonly reason: RevocationReason;
}

export interface CrlParams {
  /** 0 < crlNumber < 2^63 (the store keeps it in a bigint column; §5.2.3 allows up to 20 octets). */
  readonly crlNumber: bigint;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly entries: readonly CrlEntry[];
}

/** DER INTEGER of a non-negative bigint (two's complement, minimal length). */
export function derInteger(value: bigint): Uint8Array {
  if (value < 0n) throw new PkiError('PKI_INVALID_ARGUMENT', 'CRL number must not be negative');
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  const body = Buffer.from(hex, 'hex');
  if (body.length > 127) throw new PkiError('PKI_INVALID_ARGUMENT', 'CRL number too large');
  return new Uint8Array([0x02, body.length, ...body]);
}

const wholeSeconds = (date: Date): Date => new Date(Math.floor(date.getTime() / 1000) * 1000);

/** The DER of a freshly signed, self-checked CRL. */
export async function signCrl(ca: IssuingCa, params: CrlParams): Promise<Uint8Array> {
  const signing = caSigning(ca);
  if (params.crlNumber <= 0n || params.crlNumber >= 2n ** 63n) {
    throw new PkiError('PKI_INVALID_ARGUMENT', 'CRL number must be in [1, 2^63)');
  }
  const thisUpdate = wholeSeconds(params.thisUpdate);
  const nextUpdate = wholeSeconds(params.nextUpdate);
  if (!(nextUpdate.getTime() > thisUpdate.getTime())) {
    throw new PkiError('PKI_INVALID_ARGUMENT', 'CRL nextUpdate must be after thisUpdate');
  }
  const issuer = new x509.X509Certificate(new Uint8Array(ca.certificate.raw));
  const ski = issuer.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski === null) throw new PkiError('PKI_CA_UNAVAILABLE', 'CA certificate has no SKI');

  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: issuer.subjectName,
      thisUpdate,
      nextUpdate,
      signingKey: signing.signingKey,
      signingAlgorithm: signing.signingAlgorithm,
      extensions: [
        new x509.AuthorityKeyIdentifierExtension(ski.keyId, false),
        new x509.Extension(OID_CRL_NUMBER, false, derInteger(params.crlNumber)),
      ],
      entries: params.entries.map((entry) => ({
        serialNumber: entry.serialNumber,
        revocationDate: wholeSeconds(entry.revokedAt),
        // 0 (unspecified) is falsy: the generator then omits the extension, as §5.3.1 asks.
        reason: reasonCode(entry.reason),
      })),
    },
    signing.crypto,
  );
  const ok = await crl.verify({ publicKey: await issuer.publicKey.export(webCrypto) }, webCrypto);
  if (!ok) throw new PkiError('PKI_MALFORMED_CERTIFICATE', 'freshly signed CRL does not verify');
  return new Uint8Array(crl.rawData);
}
