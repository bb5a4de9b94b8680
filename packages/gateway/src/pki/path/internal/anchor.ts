/**
 * Trust anchors for RFC 5280 §6.1.1 (d): parsing the configured anchors and choosing the one a chain's
 * top certificate chains to. Several anchors may be configured at once (CA rollover): the candidates
 * are those whose subject is the top certificate's issuer, and the first whose key verifies the top
 * certificate's signature and that is itself usable at the validation time is chosen.
 *
 * fleetgate applies more to an anchor than RFC 5280 requires (it lets an anchor be a bare name and
 * key): an anchor must be within its validity period, a CA (basicConstraints cA) when it is a v3
 * certificate, allowed keyCertSign when it has keyUsage, and its pathLenConstraint and nameConstraints
 * constrain the path (as RFC 5937 permits). Threat: an expired or repurposed root silently keeping
 * authority. A malformed anchor is the operator's mistake and fails every validation
 * (PATH_INVALID_INPUT) rather than being skipped.
 */
import { X509Certificate } from 'node:crypto';
import type { PathCertificate, PathFailure } from '../types.ts';
import { isProblem, signatureScheme, verifySignature } from './algorithms.ts';
import { parseCertificate } from './parse-certificate.ts';

export interface Anchor {
  readonly index: number;
  readonly certificate: PathCertificate;
}

export const MAX_TRUST_ANCHORS = 64;

export function failure(code: PathFailure['code'], position: number, detail: string): PathFailure {
  return { ok: false, code, position, detail };
}

/** Parses the configured anchors, or the failure naming the first that cannot be used. */
export function parseAnchors(anchors: readonly unknown[]): Anchor[] | PathFailure {
  if (anchors.length === 0) return failure('PATH_INVALID_INPUT', -1, 'no trust anchor is configured');
  if (anchors.length > MAX_TRUST_ANCHORS) return failure('PATH_INVALID_INPUT', -1, 'too many trust anchors');
  const out: Anchor[] = [];
  for (const [index, anchor] of anchors.entries()) {
    const der =
      anchor instanceof X509Certificate
        ? new Uint8Array(anchor.raw)
        : anchor instanceof Uint8Array
          ? anchor
          : undefined;
    if (der === undefined)
      return failure('PATH_INVALID_INPUT', -1, `trust anchor ${index} is not DER or an X509Certificate`);
    try {
      out.push({ index, certificate: parseCertificate(der) });
    } catch {
      return failure('PATH_INVALID_INPUT', -1, `trust anchor ${index} is malformed`);
    }
  }
  return out;
}

/** Why `anchor` cannot certify `top` at `time` (stage orders how far it got), or undefined. */
function anchorProblem(
  anchor: PathCertificate,
  top: PathCertificate,
  time: Date,
  topPosition: number,
): { stage: number; failure: PathFailure } | undefined {
  const anchorPosition = topPosition + 1;
  if (anchor.publicKey === undefined) {
    const problem = anchor.keyProblem ?? { code: 'PATH_WEAK_KEY', detail: 'trust anchor key is unusable' };
    return { stage: 1, failure: failure(problem.code, anchorPosition, `trust anchor: ${problem.detail}`) };
  }
  const scheme = signatureScheme(top.signatureAlgorithm);
  if (isProblem(scheme)) return { stage: 2, failure: failure(scheme.code, topPosition, scheme.detail) };
  if (!verifySignature(scheme, anchor.publicKey, top.tbs, top.signature)) {
    return {
      stage: 2,
      failure: failure(
        'PATH_SIGNATURE_INVALID',
        topPosition,
        'signature does not verify with the trust anchor key',
      ),
    };
  }
  if (time < anchor.notBefore) {
    return {
      stage: 3,
      failure: failure('PATH_NOT_YET_VALID', anchorPosition, 'trust anchor is not yet valid'),
    };
  }
  if (time > anchor.notAfter) {
    return { stage: 3, failure: failure('PATH_EXPIRED', anchorPosition, 'trust anchor has expired') };
  }
  if (anchor.version === 3 && anchor.basicConstraints?.ca !== true) {
    return { stage: 4, failure: failure('PATH_NOT_CA', anchorPosition, 'trust anchor is not a CA') };
  }
  if (anchor.keyUsage !== undefined && !anchor.keyUsage.keyCertSign) {
    return {
      stage: 4,
      failure: failure('PATH_KEY_USAGE', anchorPosition, 'trust anchor may not sign certificates'),
    };
  }
  if (anchor.nameConstraints?.unsupported) {
    return {
      stage: 4,
      failure: failure('PATH_NAME_CONSTRAINTS', anchorPosition, 'trust anchor uses minimum/maximum'),
    };
  }
  return undefined;
}

/** The anchor that certifies `top`, or the failure of the candidate that got furthest. */
export function selectAnchor(
  anchors: readonly Anchor[],
  top: PathCertificate,
  time: Date,
  topPosition: number,
): Anchor | PathFailure {
  const candidates = anchors.filter((a) => a.certificate.subject.key === top.issuer.key);
  if (candidates.length === 0) {
    return failure('PATH_NO_ANCHOR', topPosition, 'the issuer of the top certificate is not a trust anchor');
  }
  let best: { stage: number; failure: PathFailure } | undefined;
  for (const candidate of candidates) {
    const problem = anchorProblem(candidate.certificate, top, time, topPosition);
    if (problem === undefined) return candidate;
    if (best === undefined || problem.stage > best.stage) best = problem;
  }
  return (
    best?.failure ?? failure('PATH_NO_ANCHOR', topPosition, 'no trust anchor certifies the top certificate')
  );
}
