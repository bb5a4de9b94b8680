/**
 * The public types of fleetgate's RFC 5280 §6 path validation: the input of `validatePath`, its coded
 * result, the parsed certificate a revocation check receives, and the closed union of result codes.
 *
 * Threat model in one line: the chain (and any CRL) comes from a peer and is hostile; trust anchors and
 * options come from our own configuration. Every refusal carries one stable code from PATH_CODES and the
 * chain position it concerns, and a `detail` written by us — never text copied out of a certificate,
 * because certificate fields are attacker-chosen and would otherwise flow into logs.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import type { DistinguishedName, GeneralName } from './internal/names.ts';

export type { DistinguishedName, GeneralName } from './internal/names.ts';

/**
 * Result codes, stable and never reused or renamed (CONVENTIONS.md §4). The order is documentation
 * only. `PATH_INVALID_INPUT` is the caller's mistake (no anchors, bad options); all others describe the
 * chain.
 */
export const PATH_CODES = [
  'PATH_INVALID_INPUT',
  'PATH_MALFORMED',
  'PATH_CHAIN_TOO_LONG',
  'PATH_NO_ANCHOR',
  'PATH_NAME_CHAINING',
  'PATH_SIGNATURE_INVALID',
  'PATH_WEAK_SIGNATURE',
  'PATH_WEAK_KEY',
  'PATH_UNSUPPORTED_ALGORITHM',
  'PATH_NOT_YET_VALID',
  'PATH_EXPIRED',
  'PATH_UNKNOWN_CRITICAL_EXTENSION',
  'PATH_NOT_CA',
  'PATH_LEN_EXCEEDED',
  'PATH_KEY_USAGE',
  'PATH_EKU',
  'PATH_NOT_END_ENTITY',
  'PATH_NAME_CONSTRAINTS',
  'PATH_POLICY',
  'PATH_REVOKED',
  'PATH_REVOCATION_UNKNOWN',
] as const;

export type PathCode = (typeof PATH_CODES)[number];

/** What the leaf certificate will be used for; 'any' skips the leaf keyUsage/EKU purpose checks. */
export type PathPurpose = 'clientAuth' | 'serverAuth' | 'any';

export type RevocationStatus = 'good' | 'revoked' | 'unknown';

export interface RevocationContext {
  /** The validation time (the time of the event, not necessarily now). */
  readonly time: Date;
  /** The validated path, leaf first, with the trust anchor last (`path[path.length - 1]`). */
  readonly path: readonly PathCertificate[];
  /** Index in `path` of the certificate being checked. */
  readonly position: number;
}

/**
 * Decides the revocation status of `certificate`, issued by `issuer` (the next certificate in the
 * path, or the trust anchor). Called only after the whole path has passed every other check, anchor
 * side first. Must not throw; a throw is treated as PATH_REVOCATION_UNKNOWN and is never waived.
 */
export type RevocationCheck = (
  certificate: PathCertificate,
  issuer: PathCertificate,
  context: RevocationContext,
) => RevocationStatus;

export interface ValidatePathInput {
  /** DER certificates as received, leaf first; the trust anchor itself may be appended. Untrusted. */
  readonly chain: readonly Uint8Array[];
  /** One or more trust anchors (two during a CA rollover). Trusted configuration. */
  readonly trustAnchors: readonly (Uint8Array | X509Certificate)[];
  /** The time at which the chain must be valid: the time of the event being authorised. */
  readonly time: Date;
  readonly purpose: PathPurpose;
  /** Revocation status source; absent means revocation is not checked (see `revocationChecked`). */
  readonly revocation?: RevocationCheck;
  /** Accept 'unknown' revocation status instead of failing closed. Default false. */
  readonly allowUnknownRevocation?: boolean;
  /** Most certificates in the chain, not counting an appended trust anchor. Default 5, at most 16. */
  readonly maxChainLength?: number;
  /** RFC 5280 §6.1.1 (c) user-initial-policy-set as OIDs; default {anyPolicy}. */
  readonly initialPolicySet?: readonly string[];
  /** RFC 5280 §6.1.1 (f) initial-explicit-policy. Default false. */
  readonly initialExplicitPolicy?: boolean;
  /** RFC 5280 §6.1.1 (e) initial-policy-mapping-inhibit. Default false. */
  readonly initialPolicyMappingInhibit?: boolean;
  /** RFC 5280 §6.1.1 (g) initial-any-policy-inhibit. Default false. */
  readonly initialAnyPolicyInhibit?: boolean;
}

export interface PathSuccess {
  readonly ok: true;
  /** Index into `trustAnchors` of the anchor the path chains to. */
  readonly anchorIndex: number;
  /** The validated path, leaf first, trust anchor last. */
  readonly path: readonly PathCertificate[];
  /** RFC 5280 §6.1.6 output, as the NIST PKITS user-constrained-policy-set (OIDs, sorted). */
  readonly userConstrainedPolicySet: readonly string[];
  /** False when no revocation check was given; true when every certificate was checked. */
  readonly revocationChecked: boolean;
}

export interface PathFailure {
  readonly ok: false;
  readonly code: PathCode;
  /**
   * The certificate the failure concerns: its index in `chain` (0 = leaf), `chain.length` for the
   * trust anchor, or -1 when it concerns no single certificate (the input as a whole).
   */
  readonly position: number;
  /** Fixed English text naming the failed check; never contains certificate contents. */
  readonly detail: string;
}

export type PathResult = PathSuccess | PathFailure;

export interface KeyUsageBits {
  readonly digitalSignature: boolean;
  readonly nonRepudiation: boolean;
  readonly keyEncipherment: boolean;
  readonly dataEncipherment: boolean;
  readonly keyAgreement: boolean;
  readonly keyCertSign: boolean;
  readonly cRLSign: boolean;
  readonly encipherOnly: boolean;
  readonly decipherOnly: boolean;
}

/** RFC 5280 §4.2.1.13 DistributionPoint, and §5.2.5 IssuingDistributionPoint's name. */
export interface DistributionPointName {
  readonly fullName?: readonly GeneralName[];
  /** nameRelativeToCRLIssuer, already appended to the CRL issuer's name. */
  readonly relativeName?: readonly DistinguishedName[];
}

export interface DistributionPoint {
  readonly name?: DistributionPointName;
  /** ReasonFlags as a bit mask (bit 0 = unused … bit 8 = aACompromise); undefined = all reasons. */
  readonly reasons?: number;
  readonly crlIssuer?: readonly GeneralName[];
}

export interface NameConstraints {
  readonly permitted: readonly GeneralName[];
  readonly excluded: readonly GeneralName[];
  /** True when a subtree uses minimum/maximum, which RFC 5280 forbids and we do not process. */
  readonly unsupported: boolean;
}

export interface AlgorithmIdentifier {
  readonly oid: string;
  /** The whole AlgorithmIdentifier DER. */
  readonly der: Uint8Array;
  /** The parameters TLV, when present. */
  readonly parameters?: Uint8Array;
}

/** A parsed certificate: every field path validation and revocation checking read. */
export interface PathCertificate {
  readonly der: Uint8Array;
  readonly version: 1 | 2 | 3;
  /** The serial number's INTEGER contents as encoded (two's complement, may be negative). */
  readonly serialNumber: Uint8Array;
  readonly issuer: DistinguishedName;
  readonly subject: DistinguishedName;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Uint8Array;
  /** The subject key when its algorithm and size are acceptable; otherwise `keyProblem` says why. */
  readonly publicKey: KeyObject | undefined;
  readonly keyProblem: { readonly code: PathCode; readonly detail: string } | undefined;
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: AlgorithmIdentifier;
  readonly signature: Uint8Array;
  /** issuer and subject are the same name (RFC 5280 §6.1: self-issued). */
  readonly selfIssued: boolean;
  readonly basicConstraints: { readonly ca: boolean; readonly pathLength: number | undefined } | undefined;
  readonly keyUsage: KeyUsageBits | undefined;
  readonly extendedKeyUsage: readonly string[] | undefined;
  readonly subjectAltNames: readonly GeneralName[] | undefined;
  readonly nameConstraints: NameConstraints | undefined;
  readonly certificatePolicies: readonly string[] | undefined;
  readonly policyMappings:
    | readonly { readonly issuerDomainPolicy: string; readonly subjectDomainPolicy: string }[]
    | undefined;
  readonly policyConstraints:
    | {
        readonly requireExplicitPolicy: number | undefined;
        readonly inhibitPolicyMapping: number | undefined;
      }
    | undefined;
  readonly inhibitAnyPolicy: number | undefined;
  readonly crlDistributionPoints: readonly DistributionPoint[] | undefined;
  /** Critical extensions this implementation does not process (RFC 5280 §4.2: reject). */
  readonly unknownCriticalExtensions: readonly string[];
}
