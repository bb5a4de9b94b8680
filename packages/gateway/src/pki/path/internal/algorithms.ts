/**
 * Signature algorithms (RFC 5280 §4.1.1.2; RFC 4055 RSA and RSASSA-PSS, RFC 5758 ECDSA, RFC 8410
 * EdDSA, FIPS 204 ML-DSA in certificates) and subject public keys (§4.1.2.7) that path validation
 * accepts, and signature verification over the exact bytes received, with node:crypto.
 *
 * Threats: collision attacks on SHA-1 and MD5 let an attacker get a CA to sign one TBS and reuse the
 * signature on another, so those signatures are refused (PATH_WEAK_SIGNATURE), as are DSA, SHA-224 and
 * RSASSA-PSS with SHA-1; RSA keys under 2048 bits can be factored, DSA keys and unnamed curves are
 * refused too (PATH_WEAK_KEY). Anything not listed is PATH_UNSUPPORTED_ALGORITHM: fail closed rather
 * than guess. RSA keys above 16384 bits are refused as a denial-of-service guard.
 */
import { constants, createPublicKey, type KeyObject, verify } from 'node:crypto';
import type { AlgorithmIdentifier, PathCode } from '../types.ts';
import {
  contents,
  contextConstructed,
  DerError,
  DerReader,
  expectNull,
  oid,
  smallInteger,
  TAG,
} from './der.ts';

type Hash = 'sha256' | 'sha384' | 'sha512';

export type SignatureScheme =
  | { readonly kind: 'rsa-pkcs1'; readonly hash: Hash }
  | { readonly kind: 'rsa-pss'; readonly hash: Hash; readonly saltLength: number }
  | { readonly kind: 'ecdsa'; readonly hash: Hash }
  | { readonly kind: 'ed25519' | 'ed448' | 'ml-dsa-44' | 'ml-dsa-65' | 'ml-dsa-87' };

export type Problem = { readonly code: PathCode; readonly detail: string };

const RSA_PKCS1: Record<string, Hash> = {
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};
const ECDSA: Record<string, Hash> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};
const NO_PARAMETERS: Record<string, SignatureScheme['kind']> = {
  '1.3.101.112': 'ed25519',
  '1.3.101.113': 'ed448',
  '2.16.840.1.101.3.4.3.17': 'ml-dsa-44',
  '2.16.840.1.101.3.4.3.18': 'ml-dsa-65',
  '2.16.840.1.101.3.4.3.19': 'ml-dsa-87',
};
const HASHES: Record<string, Hash> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
/** MD2, MD4, MD5, SHA-1 and SHA-224 with RSA; ECDSA with SHA-1/SHA-224; every DSA variant. */
const WEAK = new Set([
  '1.2.840.113549.1.1.2',
  '1.2.840.113549.1.1.3',
  '1.2.840.113549.1.1.4',
  '1.2.840.113549.1.1.5',
  '1.2.840.113549.1.1.14',
  '1.3.14.3.2.29',
  '1.2.840.10045.4.1',
  '1.2.840.10045.4.3.1',
  '1.2.840.10040.4.3',
  '2.16.840.1.101.3.4.3.1',
  '2.16.840.1.101.3.4.3.2',
  '2.16.840.1.101.3.4.3.3',
  '2.16.840.1.101.3.4.3.4',
]);
const RSASSA_PSS = '1.2.840.113549.1.1.10';
const MGF1 = '1.2.840.113549.1.1.8';
const SHA1 = '1.3.14.3.2.26';

/** Reads an AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }. */
export function parseAlgorithmIdentifier(reader: DerReader, what: string): AlgorithmIdentifier {
  const tlv = reader.expect(TAG.SEQUENCE, what);
  const r = contents(tlv);
  const id = oid(r.read());
  const parameters = r.hasMore() ? r.read().bytes : undefined;
  r.end(what);
  return parameters === undefined ? { oid: id, der: tlv.bytes } : { oid: id, der: tlv.bytes, parameters };
}

function absentOrNull(alg: AlgorithmIdentifier): boolean {
  if (alg.parameters === undefined) return true;
  try {
    expectNull(new DerReader(alg.parameters).read());
    return alg.parameters.length === 2;
  } catch {
    return false;
  }
}

function hashOf(alg: AlgorithmIdentifier): Hash | 'sha1' {
  if (alg.oid === SHA1) return 'sha1';
  const hash = HASHES[alg.oid];
  if (hash === undefined || !absentOrNull(alg)) throw new DerError('unsupported PSS hash');
  return hash;
}

/** RFC 4055 §3.1 RSASSA-PSS-params; SHA-1 (the DEFAULT) is weak, the MGF1 hash must match. */
function pssScheme(alg: AlgorithmIdentifier): SignatureScheme | Problem {
  if (alg.parameters === undefined)
    return { code: 'PATH_MALFORMED', detail: 'RSASSA-PSS without parameters' };
  let hash: Hash | 'sha1' = 'sha1';
  let mgfHash: Hash | 'sha1' = 'sha1';
  let saltLength = 20;
  const r = contents(new DerReader(alg.parameters).expect(TAG.SEQUENCE, 'RSASSA-PSS-params'));
  const hashTlv = r.optional(contextConstructed(0));
  if (hashTlv) hash = hashOf(parseAlgorithmIdentifier(contents(hashTlv), 'hashAlgorithm'));
  const mgfTlv = r.optional(contextConstructed(1));
  if (mgfTlv) {
    const mgf = parseAlgorithmIdentifier(contents(mgfTlv), 'maskGenAlgorithm');
    if (mgf.oid !== MGF1 || mgf.parameters === undefined) throw new DerError('unsupported MGF');
    mgfHash = hashOf(parseAlgorithmIdentifier(new DerReader(mgf.parameters), 'MGF1 hash'));
  }
  const saltTlv = r.optional(contextConstructed(2));
  if (saltTlv) saltLength = smallInteger(contents(saltTlv).expect(TAG.INTEGER, 'saltLength'), 'saltLength');
  const trailer = r.optional(contextConstructed(3));
  if (trailer && smallInteger(contents(trailer).expect(TAG.INTEGER, 'trailerField'), 'trailerField') !== 1) {
    throw new DerError('trailerField must be 1');
  }
  r.end('RSASSA-PSS-params');
  if (hash === 'sha1' || mgfHash === 'sha1')
    return { code: 'PATH_WEAK_SIGNATURE', detail: 'RSASSA-PSS with SHA-1' };
  if (hash !== mgfHash) return { code: 'PATH_UNSUPPORTED_ALGORITHM', detail: 'RSASSA-PSS with mixed hashes' };
  return { kind: 'rsa-pss', hash, saltLength };
}

/** The signature scheme for an AlgorithmIdentifier, or why it is refused. */
export function signatureScheme(alg: AlgorithmIdentifier): SignatureScheme | Problem {
  if (WEAK.has(alg.oid))
    return { code: 'PATH_WEAK_SIGNATURE', detail: 'signature uses SHA-1, MD5, SHA-224 or DSA' };
  const rsa = RSA_PKCS1[alg.oid];
  if (rsa !== undefined) {
    return absentOrNull(alg)
      ? { kind: 'rsa-pkcs1', hash: rsa }
      : { code: 'PATH_MALFORMED', detail: 'RSA signature algorithm parameters are not NULL' };
  }
  const ecdsa = ECDSA[alg.oid];
  const plain = NO_PARAMETERS[alg.oid];
  if (ecdsa !== undefined || plain !== undefined) {
    if (alg.parameters !== undefined)
      return { code: 'PATH_MALFORMED', detail: 'signature algorithm has parameters' };
    return ecdsa !== undefined ? { kind: 'ecdsa', hash: ecdsa } : { kind: plain as 'ed25519' };
  }
  if (alg.oid === RSASSA_PSS) {
    try {
      return pssScheme(alg);
    } catch {
      return { code: 'PATH_MALFORMED', detail: 'RSASSA-PSS parameters are malformed' };
    }
  }
  return { code: 'PATH_UNSUPPORTED_ALGORITHM', detail: 'signature algorithm is not supported' };
}

export function isProblem(value: object): value is Problem {
  return 'code' in value;
}

const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const NAMED_CURVES = new Set(['1.2.840.10045.3.1.7', '1.3.132.0.34', '1.3.132.0.35']);
const RSA_KEYS = new Set(['1.2.840.113549.1.1.1', RSASSA_PSS]);
const DSA_KEY = '1.2.840.10040.4.1';
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 16384;

/**
 * The subject public key from SubjectPublicKeyInfo DER, or why it is refused. The algorithm is checked
 * before node:crypto sees the key, so a DSA or explicit-curve key is refused as weak, not as malformed.
 */
export function subjectPublicKey(spki: Uint8Array, algorithm: AlgorithmIdentifier): KeyObject | Problem {
  if (algorithm.oid === DSA_KEY) return { code: 'PATH_WEAK_KEY', detail: 'DSA keys are refused' };
  if (algorithm.oid === EC_PUBLIC_KEY) {
    let curve: string | undefined;
    try {
      curve =
        algorithm.parameters === undefined ? undefined : oid(new DerReader(algorithm.parameters).read());
    } catch {
      curve = undefined;
    }
    if (curve === undefined || !NAMED_CURVES.has(curve)) {
      return { code: 'PATH_WEAK_KEY', detail: 'EC key is not on P-256, P-384 or P-521' };
    }
  } else if (!RSA_KEYS.has(algorithm.oid) && !Object.hasOwn(NO_PARAMETERS, algorithm.oid)) {
    return { code: 'PATH_UNSUPPORTED_ALGORITHM', detail: 'public key algorithm is not supported' };
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    return { code: 'PATH_MALFORMED', detail: 'subject public key cannot be parsed' };
  }
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    const exponent = key.asymmetricKeyDetails?.publicExponent ?? 0n;
    if (bits < MIN_RSA_BITS) return { code: 'PATH_WEAK_KEY', detail: 'RSA key shorter than 2048 bits' };
    if (bits > MAX_RSA_BITS)
      return { code: 'PATH_UNSUPPORTED_ALGORITHM', detail: 'RSA key longer than 16384 bits' };
    if (exponent < 3n || exponent % 2n === 0n)
      return { code: 'PATH_WEAK_KEY', detail: 'RSA public exponent is unusable' };
  }
  return key;
}

const KEY_TYPES: Record<SignatureScheme['kind'], readonly string[]> = {
  'rsa-pkcs1': ['rsa'],
  'rsa-pss': ['rsa', 'rsa-pss'],
  ecdsa: ['ec'],
  ed25519: ['ed25519'],
  ed448: ['ed448'],
  'ml-dsa-44': ['ml-dsa-44'],
  'ml-dsa-65': ['ml-dsa-65'],
  'ml-dsa-87': ['ml-dsa-87'],
};

/** Verifies `signature` over `data` (the TBS bytes as received); any error is a failed verification. */
export function verifySignature(
  scheme: SignatureScheme,
  key: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (!KEY_TYPES[scheme.kind].includes(key.asymmetricKeyType ?? '')) return false;
  try {
    switch (scheme.kind) {
      case 'rsa-pkcs1':
        return verify(scheme.hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
      case 'rsa-pss':
        return verify(
          scheme.hash,
          data,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength },
          signature,
        );
      case 'ecdsa':
        return verify(scheme.hash, data, { key, dsaEncoding: 'der' }, signature);
      default:
        return verify(null, data, key, signature);
    }
  } catch {
    return false;
  }
}
