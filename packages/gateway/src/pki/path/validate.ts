/**
 * RFC 5280 §6.1 certification path validation, fleetgate's own, failing closed. Given a chain as
 * received (leaf first), trust anchors, the time of the event and a purpose, it answers valid — or one
 * coded failure naming the chain position it concerns (types.ts, PATH_CODES).
 *
 * Steps, per certificate from the anchor down (§6.1.3, §6.1.4), in this order:
 *   name chaining → signature (algorithm policy, then verification over the TBS bytes received) →
 *   the certificate's own key → validity at `time` → unknown critical extensions →
 *   [intermediates: basicConstraints cA, pathLenConstraint, keyUsage keyCertSign, EKU consistent with
 *   the purpose] → name constraints → certificate policies [→ policy mappings and counters].
 * Then §6.1.5 for the leaf (policy wrap-up, and for clientAuth/serverAuth: not a CA, keyUsage with
 * digitalSignature, EKU naming the purpose), and last the revocation of every certificate, anchor side
 * first, so a revocation source is only ever asked about certificates whose chain already verified.
 *
 * Stricter than RFC 5280, on purpose (docs/pki.md "Path validation"): no path building (the chain must
 * be in order; an appended anchor is dropped); SHA-1/MD5/DSA signatures and RSA keys under 2048 bits
 * refused; intermediates must carry keyUsage with keyCertSign and be v3 with cA; the anchor's validity,
 * pathLenConstraint and nameConstraints are enforced; revocation 'unknown' fails unless the caller
 * waives it. Threat: a forged, misissued, expired, revoked or out-of-scope certificate accepted as an
 * identity. Parsing is defensive: malformed input yields PATH_MALFORMED, never an exception.
 */

import { isProblem, signatureScheme, verifySignature } from './internal/algorithms.ts';
import { type Anchor, failure, parseAnchors, selectAnchor } from './internal/anchor.ts';
import { bytesEqual } from './internal/der.ts';
import { ANY_EXTENDED_KEY_USAGE, ANY_POLICY } from './internal/extensions.ts';
import { addConstraints, checkNameConstraints, UNCONSTRAINED } from './internal/name-constraints.ts';
import { MAX_CERTIFICATE_BYTES, parseCertificate } from './internal/parse-certificate.ts';
import { PolicyLimitError, type PolicyOptions, PolicyState } from './internal/policy-tree.ts';
import type { PathCertificate, PathFailure, PathPurpose, PathResult, ValidatePathInput } from './types.ts';

export const DEFAULT_MAX_CHAIN_LENGTH = 5;
export const MAX_CHAIN_LENGTH_LIMIT = 16;

const PURPOSE_OID: Record<Exclude<PathPurpose, 'any'>, string> = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};
const OID_TEXT = /^[0-2](\.(0|[1-9][0-9]{0,9})){1,31}$/;

function checkOptions(input: ValidatePathInput): PathFailure | PolicyOptions {
  const bad = (detail: string): PathFailure => failure('PATH_INVALID_INPUT', -1, detail);
  if (!(input.time instanceof Date) || Number.isNaN(input.time.getTime()))
    return bad('time is not a valid Date');
  if (!['clientAuth', 'serverAuth', 'any'].includes(input.purpose)) return bad('unknown purpose');
  const max = input.maxChainLength ?? DEFAULT_MAX_CHAIN_LENGTH;
  if (!Number.isInteger(max) || max < 1 || max > MAX_CHAIN_LENGTH_LIMIT)
    return bad('maxChainLength out of range');
  if (!Array.isArray(input.chain) || input.chain.length === 0) return bad('chain is empty');
  if (!Array.isArray(input.trustAnchors)) return bad('trustAnchors is not a list');
  const initialPolicySet = input.initialPolicySet ?? [ANY_POLICY];
  if (initialPolicySet.length === 0 || !initialPolicySet.every((p) => OID_TEXT.test(p))) {
    return bad('initialPolicySet must list policy OIDs');
  }
  return {
    initialPolicySet,
    initialExplicitPolicy: input.initialExplicitPolicy === true,
    initialPolicyMappingInhibit: input.initialPolicyMappingInhibit === true,
    initialAnyPolicyInhibit: input.initialAnyPolicyInhibit === true,
  };
}

/** The chain without an appended trust anchor, parsed; or the failure at the first bad certificate. */
function parseChain(
  chain: readonly unknown[],
  anchors: readonly Anchor[],
  max: number,
): PathCertificate[] | PathFailure {
  let ders = chain;
  const last = chain[chain.length - 1];
  if (
    chain.length > 1 &&
    last instanceof Uint8Array &&
    anchors.some((a) => bytesEqual(a.certificate.der, last))
  ) {
    ders = chain.slice(0, -1);
  }
  if (ders.length > max) return failure('PATH_CHAIN_TOO_LONG', max, `chain longer than ${max} certificates`);
  const out: PathCertificate[] = [];
  for (const [index, der] of ders.entries()) {
    if (!(der instanceof Uint8Array)) return failure('PATH_MALFORMED', index, 'not DER bytes');
    if (der.length > MAX_CERTIFICATE_BYTES) return failure('PATH_MALFORMED', index, 'certificate too large');
    try {
      out.push(parseCertificate(der));
    } catch {
      return failure('PATH_MALFORMED', index, 'certificate is not well-formed DER X.509');
    }
  }
  return out;
}

/** §6.1.4 (k)–(n), plus the EKU consistency of an intermediate with the purpose. */
function intermediateProblem(
  cert: PathCertificate,
  pos: number,
  purpose: PathPurpose,
): PathFailure | undefined {
  if (cert.version !== 3 || cert.basicConstraints?.ca !== true) {
    return failure('PATH_NOT_CA', pos, 'an issuing certificate is not a CA (basicConstraints)');
  }
  if (cert.keyUsage?.keyCertSign !== true) {
    return failure('PATH_KEY_USAGE', pos, 'an issuing certificate lacks keyUsage keyCertSign');
  }
  const eku = cert.extendedKeyUsage;
  if (
    purpose !== 'any' &&
    eku !== undefined &&
    !eku.includes(PURPOSE_OID[purpose]) &&
    !eku.includes(ANY_EXTENDED_KEY_USAGE)
  ) {
    return failure('PATH_EKU', pos, `an issuing certificate's extendedKeyUsage excludes ${purpose}`);
  }
  return undefined;
}

/** §6.1.5 purpose checks for the leaf: an end entity whose keyUsage and EKU allow TLS authentication. */
function leafProblem(leaf: PathCertificate, purpose: PathPurpose): PathFailure | undefined {
  if (purpose === 'any') return undefined;
  if (leaf.basicConstraints?.ca === true)
    return failure('PATH_NOT_END_ENTITY', 0, 'the leaf is a CA certificate');
  if (leaf.keyUsage?.digitalSignature !== true) {
    return failure('PATH_KEY_USAGE', 0, 'the leaf lacks keyUsage digitalSignature');
  }
  if (leaf.extendedKeyUsage?.includes(PURPOSE_OID[purpose]) !== true) {
    return failure('PATH_EKU', 0, `the leaf's extendedKeyUsage does not name ${purpose}`);
  }
  return undefined;
}

/** Checks one certificate of the path (§6.1.3 (a) and the unknown-critical rule of §4.2). */
function basicProblem(
  cert: PathCertificate,
  pos: number,
  issuer: PathCertificate,
  time: Date,
  signatureChecked: boolean,
): PathFailure | undefined {
  if (cert.issuer.key !== issuer.subject.key) {
    return failure(
      'PATH_NAME_CHAINING',
      pos,
      'issuer name does not match the subject of the next certificate',
    );
  }
  if (!signatureChecked) {
    const scheme = signatureScheme(cert.signatureAlgorithm);
    if (isProblem(scheme)) return failure(scheme.code, pos, scheme.detail);
    if (
      issuer.publicKey === undefined ||
      !verifySignature(scheme, issuer.publicKey, cert.tbs, cert.signature)
    ) {
      return failure('PATH_SIGNATURE_INVALID', pos, 'signature does not verify with the issuer key');
    }
  }
  if (cert.keyProblem) return failure(cert.keyProblem.code, pos, cert.keyProblem.detail);
  if (time < cert.notBefore) return failure('PATH_NOT_YET_VALID', pos, 'certificate is not yet valid');
  if (time > cert.notAfter) return failure('PATH_EXPIRED', pos, 'certificate has expired');
  if (cert.unknownCriticalExtensions.length > 0) {
    return failure(
      'PATH_UNKNOWN_CRITICAL_EXTENSION',
      pos,
      'certificate has a critical extension we do not process',
    );
  }
  return undefined;
}

function run(input: ValidatePathInput): PathResult {
  const options = checkOptions(input);
  if ('ok' in options) return options;
  const anchors = parseAnchors(input.trustAnchors);
  if (!Array.isArray(anchors)) return anchors;
  const chain = parseChain(input.chain, anchors, input.maxChainLength ?? DEFAULT_MAX_CHAIN_LENGTH);
  if (!Array.isArray(chain)) return chain;
  const n = chain.length;
  const top = chain[n - 1] as PathCertificate;
  const anchor = selectAnchor(anchors, top, input.time, n - 1);
  if ('ok' in anchor) return anchor;
  const root = anchor.certificate;

  let issuer = root;
  let maxPathLength = Math.min(n, root.basicConstraints?.pathLength ?? n);
  let constraints = root.nameConstraints
    ? addConstraints(UNCONSTRAINED, root.nameConstraints)
    : UNCONSTRAINED;
  const policy = new PolicyState(n, options);

  for (let i = 1; i <= n; i++) {
    const pos = n - i;
    const cert = chain[pos] as PathCertificate;
    const isLeaf = i === n;
    const basic = basicProblem(cert, pos, issuer, input.time, i === 1);
    if (basic) return basic;
    if (!isLeaf) {
      const ca = intermediateProblem(cert, pos, input.purpose);
      if (ca) return ca;
      if (!cert.selfIssued) {
        if (maxPathLength <= 0)
          return failure('PATH_LEN_EXCEEDED', pos, 'a pathLenConstraint above is exceeded');
        maxPathLength--;
      }
      const pathLength = cert.basicConstraints?.pathLength;
      if (pathLength !== undefined && pathLength < maxPathLength) maxPathLength = pathLength;
    }
    if (!(cert.selfIssued && !isLeaf)) {
      const nc = checkNameConstraints(cert, constraints);
      if (nc !== undefined) return failure('PATH_NAME_CONSTRAINTS', pos, nc);
    }
    try {
      const problem =
        policy.processCertificate(cert, i) ?? (isLeaf ? undefined : policy.processMappings(cert, i));
      if (problem !== undefined) return failure('PATH_POLICY', pos, problem);
    } catch (error) {
      if (error instanceof PolicyLimitError) return failure('PATH_POLICY', pos, error.message);
      throw error;
    }
    if (!isLeaf) {
      if (cert.nameConstraints?.unsupported) {
        return failure('PATH_NAME_CONSTRAINTS', pos, 'name constraints use minimum/maximum');
      }
      if (cert.nameConstraints) constraints = addConstraints(constraints, cert.nameConstraints);
      policy.updateCounters(cert);
      issuer = cert;
    }
  }

  const leaf = chain[0] as PathCertificate;
  let finished: ReturnType<PolicyState['finish']>;
  try {
    finished = policy.finish(leaf, options);
  } catch (error) {
    if (error instanceof PolicyLimitError) return failure('PATH_POLICY', 0, error.message);
    throw error;
  }
  if ('failure' in finished) return failure('PATH_POLICY', 0, finished.failure);
  const purpose = leafProblem(leaf, input.purpose);
  if (purpose) return purpose;

  const path = [...chain, root];
  if (input.revocation) {
    for (let pos = n - 1; pos >= 0; pos--) {
      const cert = path[pos] as PathCertificate;
      const certIssuer = path[pos + 1] as PathCertificate;
      let status: unknown;
      try {
        status = input.revocation(cert, certIssuer, { time: input.time, path, position: pos });
      } catch {
        return failure('PATH_REVOCATION_UNKNOWN', pos, 'the revocation check failed');
      }
      if (status === 'revoked') return failure('PATH_REVOKED', pos, 'certificate is revoked');
      if (status !== 'good' && !(status === 'unknown' && input.allowUnknownRevocation === true)) {
        return failure('PATH_REVOCATION_UNKNOWN', pos, 'revocation status is unknown');
      }
    }
  }
  return {
    ok: true,
    anchorIndex: anchor.index,
    path,
    userConstrainedPolicySet: finished.policies,
    revocationChecked: input.revocation !== undefined,
  };
}

/**
 * Validates `input.chain` against `input.trustAnchors` at `input.time` for `input.purpose`
 * (RFC 5280 §6.1). Never throws: every outcome is a PathResult.
 */
export function validatePath(input: ValidatePathInput): PathResult {
  try {
    return run(input);
  } catch {
    return failure('PATH_MALFORMED', -1, 'input could not be processed');
  }
}
