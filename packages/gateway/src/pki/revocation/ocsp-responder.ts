/**
 * The OCSP responder (RFC 6960) for certificates of the issuing CA, answered from the certificate
 * inventory by serial: `good` for an active certificate, `revoked` with its time and reason (RFC 5280
 * §5.3.1 code) for a revoked one, `unknown` for a serial this CA never issued (§2.2).
 *
 * Responses are BasicOCSPResponses (§4.2.1) signed ecdsa-with-SHA256 by the delegated responder
 * (responder-certificate.ts), which is included in `certs` and named byKey; producedAt, thisUpdate and
 * nextUpdate are set (nextUpdate = thisUpdate + the configured validity); a request nonce is echoed
 * byte for byte (RFC 8954). Times have one-second resolution.
 *
 * Status answers (§2.3): malformedRequest for anything ocsp-request.ts refuses; unauthorized when a
 * CertID names another issuer (this responder is authoritative for one CA only, RFC 5019 §2.2.3);
 * internalError when the store fails; tryLater when no responder certificate is available yet. During
 * a CA rollover's overlap it answers for both intermediates, each with its own delegated responder.
 *
 * Threats: a responder that crashes on hostile input (every parse failure is a status); a response
 * about one certificate replayed for another (the CertID is echoed and the nonce too); a responder
 * vouching for a CA it does not speak for (unauthorized).
 */
import { createHash, sign, type X509Certificate } from 'node:crypto';
import {
  BasicOCSPResponse,
  CertStatus,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
  KeyHash,
  OCSPResponse,
  OCSPResponseStatus,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
} from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, CRLReason, Extension } from '@peculiar/asn1-x509';
import type { Queryable } from '../../store/store.ts';
import { normaliseSerial, thumbprintOf } from '../inventory.ts';
import { type ParsedCertId, parseOcspRequest } from './ocsp-request.ts';
import { reasonCode, storedReason } from './reasons.ts';
import type { OcspResponderKeys } from './responder-certificate.ts';

const ECDSA_WITH_SHA256_OID = '1.2.840.10045.4.3.2';

export type OcspResponseStatusName =
  | 'successful'
  | 'malformedRequest'
  | 'internalError'
  | 'tryLater'
  | 'unauthorized';

export type OcspCertStatus = 'good' | 'revoked' | 'unknown';

export interface OcspAnswer {
  readonly der: Uint8Array;
  readonly status: OcspResponseStatusName;
  /** One per CertID, for a successful answer. */
  readonly certStatuses: readonly OcspCertStatus[];
  /** Why the request was malformed (for the log, never for the peer). */
  readonly problem?: string;
}

/** One CA the responder speaks for: its certificate and the delegated responder it issued. */
export interface OcspAuthority {
  readonly issuer: X509Certificate;
  /** Undefined until a responder certificate from this issuer is available. */
  readonly keys: OcspResponderKeys | undefined;
}

export interface OcspResponderOptions {
  readonly store: Queryable;
  /**
   * The issuers this responder answers for, read per request: the issuing intermediate, and the
   * previous one during a CA rollover's overlap.
   */
  readonly authorities: () => readonly OcspAuthority[];
  readonly now: () => Date;
  /** nextUpdate - thisUpdate, in seconds. */
  readonly validitySeconds: number;
}

interface IssuerHashes {
  readonly sha256: string;
  readonly name: Uint8Array;
  readonly key: Uint8Array;
}

interface StatusRow {
  serial_number: string;
  status: 'active' | 'revoked';
  revoked_at: Date | null;
  revocation_reason: string | null;
  [key: string]: unknown;
}

const second = (date: Date): Date => new Date(Math.floor(date.getTime() / 1000) * 1000);

function statusOnly(status: Exclude<OcspResponseStatusName, 'successful'>, problem?: string): OcspAnswer {
  const der = new Uint8Array(
    AsnConvert.serialize(new OCSPResponse({ responseStatus: OCSPResponseStatus[status] })),
  );
  return { der, status, certStatuses: [], ...(problem === undefined ? {} : { problem }) };
}

export class OcspResponder {
  readonly #options: OcspResponderOptions;
  readonly #hashes = new WeakMap<X509Certificate, IssuerHashes>();

  constructor(options: OcspResponderOptions) {
    this.#options = options;
  }

  #issuerHashes(issuer: X509Certificate): IssuerHashes {
    let hashes = this.#hashes.get(issuer);
    if (hashes === undefined) {
      const parsed = AsnConvert.parse(issuer.raw, Certificate);
      hashes = {
        sha256: thumbprintOf(issuer),
        name: new Uint8Array(AsnConvert.serialize(parsed.tbsCertificate.subject)),
        key: new Uint8Array(parsed.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey),
      };
      this.#hashes.set(issuer, hashes);
    }
    return hashes;
  }

  #issuedBy(id: ParsedCertId, issuer: X509Certificate): boolean {
    if (id.hash === undefined) return false;
    const { name, key } = this.#issuerHashes(issuer);
    return (
      createHash(id.hash).update(name).digest().equals(id.issuerNameHash) &&
      createHash(id.hash).update(key).digest().equals(id.issuerKeyHash)
    );
  }

  /** Answers one DER-encoded OCSPRequest with a DER-encoded OCSPResponse. Never throws. */
  async answer(requestDer: Uint8Array): Promise<OcspAnswer> {
    const parsed = parseOcspRequest(requestDer);
    if (!parsed.ok) return statusOnly('malformedRequest', parsed.problem);
    // One response is signed by one responder: every CertID must name the same issuer of ours.
    const authority = this.#options
      .authorities()
      .find((a) => parsed.certIds.every((id) => this.#issuedBy(id, a.issuer)));
    if (authority === undefined) return statusOnly('unauthorized');
    const keys = authority.keys;
    if (keys === undefined) return statusOnly('tryLater');

    // A serial whose first octet has the sign bit set is negative: never one of ours.
    const serials = parsed.certIds.map((id) =>
      Number.parseInt(id.serialHex.slice(0, 2), 16) >= 0x80 ? undefined : normaliseSerial(id.serialHex),
    );
    let rows: StatusRow[];
    try {
      rows = await this.#options.store.query<StatusRow>(
        `SELECT serial_number, status, revoked_at, revocation_reason FROM certificates
          WHERE issuer_sha256 = $1 AND serial_number = ANY($2)`,
        [this.#issuerHashes(authority.issuer).sha256, serials.filter((s): s is string => s !== undefined)],
      );
    } catch {
      return statusOnly('internalError');
    }
    const bySerial = new Map(rows.map((r) => [r.serial_number, r]));
    const now = second(this.#options.now());
    const nextUpdate = new Date(now.getTime() + this.#options.validitySeconds * 1000);
    const certStatuses: OcspCertStatus[] = [];
    const responses = parsed.certIds.map((id, i) => {
      const row = serials[i] === undefined ? undefined : bySerial.get(serials[i] as string);
      let certStatus: CertStatus;
      if (row === undefined) {
        certStatus = new CertStatus({ unknown: null });
        certStatuses.push('unknown');
      } else if (row.status === 'revoked') {
        const reason = storedReason(row.revocation_reason);
        certStatus = new CertStatus({
          revoked: new RevokedInfo({
            revocationTime: second(row.revoked_at ?? now),
            ...(reason === 'unspecified' ? {} : { revocationReason: new CRLReason(reasonCode(reason)) }),
          }),
        });
        certStatuses.push('revoked');
      } else {
        certStatus = new CertStatus({ good: null });
        certStatuses.push('good');
      }
      return new SingleResponse({ certID: id.raw, certStatus, thisUpdate: now, nextUpdate });
    });

    const spk = AsnConvert.parse(keys.certificate.raw, Certificate).tbsCertificate.subjectPublicKeyInfo
      .subjectPublicKey;
    const tbs = new ResponseData({
      responderID: new ResponderID({
        byKey: new KeyHash(createHash('sha1').update(new Uint8Array(spk)).digest()),
      }),
      producedAt: now,
      responses,
      ...(parsed.nonce === undefined
        ? {}
        : {
            responseExtensions: [
              new Extension({
                extnID: id_pkix_ocsp_nonce,
                critical: false,
                extnValue: new OctetString(parsed.nonce),
              }),
            ],
          }),
    });
    const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
    // ecdsa-with-SHA256 over the exact tbsResponseData bytes; node returns the DER Ecdsa-Sig-Value.
    const signature = sign('sha256', tbsDer, keys.privateKey);
    const basic = new BasicOCSPResponse({
      tbsResponseData: tbs,
      signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256_OID }),
      signature: new Uint8Array(signature).buffer,
      certs: [AsnConvert.parse(keys.certificate.raw, Certificate)],
    });
    const response = new OCSPResponse({
      responseStatus: OCSPResponseStatus.successful,
      responseBytes: new ResponseBytes({
        responseType: id_pkix_ocsp_basic,
        response: new OctetString(AsnConvert.serialize(basic)),
      }),
    });
    return { der: new Uint8Array(AsnConvert.serialize(response)), status: 'successful', certStatuses };
  }
}
