/**
 * Fuzz-style properties (fast-check) for the path validator and the CRL checker on hostile bytes:
 * single bit flips, truncations, insertions and random bytes in a real chain, its trust anchor and its
 * CRLs. Properties: nothing ever throws; every result is coded; a mutated leaf or intermediate never
 * validates; a mutated CRL never makes a certificate 'good'.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { crlRevocationChecker } from '../../../src/pki/path/crl-revocation.ts';
import { parseCertificate } from '../../../src/pki/path/internal/parse-certificate.ts';
import { PATH_CODES, type PathResult, type RevocationCheck } from '../../../src/pki/path/types.ts';
import { validatePath } from '../../../src/pki/path/validate.ts';
import { hierarchy, makeCrl, NOW } from './support.ts';

let h: Awaited<ReturnType<typeof hierarchy>>;
let rootCrl: Uint8Array;
let intermediateCrl: Uint8Array;

beforeAll(async () => {
  h = await hierarchy();
  rootCrl = await makeCrl({ issuer: h.root });
  intermediateCrl = await makeCrl({ issuer: h.intermediate, revoked: ['0abc', '0abd'] });
});

/** A result from the closed union whose position is -1, a chain index, or the anchor (chain length). */
function coded(result: PathResult, chainLength = 2): boolean {
  return (
    result.ok || (PATH_CODES.includes(result.code) && result.position >= -1 && result.position <= chainLength)
  );
}

function validate(chain: Uint8Array[], anchor = h.root.der, revocation?: RevocationCheck): PathResult {
  return validatePath({
    chain,
    trustAnchors: [anchor],
    time: NOW,
    purpose: 'clientAuth',
    ...(revocation ? { revocation } : {}),
  });
}

/** One way of damaging bytes: flip a bit, truncate, insert a byte, or overwrite a byte. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
);

function mutate(
  bytes: Uint8Array,
  m: fc.Arbitrary<unknown> extends never ? never : typeof mutation extends fc.Arbitrary<infer T> ? T : never,
): Uint8Array {
  const at = m.at % bytes.length;
  switch (m.kind) {
    case 'flip': {
      const out = bytes.slice();
      out[at] = (out[at] ?? 0) ^ (1 << m.bit);
      return out;
    }
    case 'truncate':
      return bytes.slice(0, at);
    case 'insert':
      return new Uint8Array([...bytes.subarray(0, at), m.value, ...bytes.subarray(at)]);
    case 'set': {
      const out = bytes.slice();
      out[at] = m.value;
      return out;
    }
  }
}

function changed(a: Uint8Array, b: Uint8Array): boolean {
  return a.length !== b.length || a.some((x, i) => x !== b[i]);
}

describe('validatePath on damaged input', () => {
  it('the undamaged chain validates (the baseline the properties below depart from)', () => {
    expect(validate([h.leaf.der, h.intermediate.der]).ok).toBe(true);
  });

  it('a bit-flipped leaf never throws and never validates', () => {
    fc.assert(
      fc.property(fc.nat({ max: h.leaf.der.length * 8 - 1 }), (bitIndex) => {
        const der = h.leaf.der.slice();
        der[bitIndex >> 3] = (der[bitIndex >> 3] ?? 0) ^ (0x80 >> (bitIndex & 7));
        const result = validate([der, h.intermediate.der]);
        return coded(result) && !result.ok;
      }),
      { numRuns: 400 },
    );
  });

  it('any damage to the leaf or the intermediate never throws, and a changed certificate never validates', () => {
    fc.assert(
      fc.property(fc.boolean(), mutation, (leafSide, m) => {
        const target = leafSide ? h.leaf.der : h.intermediate.der;
        const damaged = mutate(target, m);
        const chain = leafSide ? [damaged, h.intermediate.der] : [h.leaf.der, damaged];
        const result = validate(chain);
        return coded(result) && (result.ok ? !changed(target, damaged) : true);
      }),
      { numRuns: 400 },
    );
  });

  it('a damaged trust anchor never throws, and lets a chain through only with its name and key intact', () => {
    const original = parseCertificate(h.root.der);
    fc.assert(
      fc.property(mutation, (m) => {
        const anchor = mutate(h.root.der, m);
        const result = validate([h.leaf.der, h.intermediate.der], anchor);
        if (!coded(result)) return false;
        if (!result.ok) return true;
        // An anchor's own signature means nothing (it is configuration), so damage there is harmless.
        const parsed = parseCertificate(anchor);
        return parsed.subject.key === original.subject.key && !changed(parsed.spki, original.spki);
      }),
      { numRuns: 200 },
    );
  });

  it('random bytes as chain or anchor give coded results', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 600 }), { minLength: 1, maxLength: 6 }),
        fc.uint8Array({ maxLength: 600 }),
        (chain, anchor) => {
          return coded(validate(chain, anchor), chain.length) && coded(validate(chain), chain.length);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('crlRevocationChecker on damaged CRLs', () => {
  it('the undamaged CRLs make the chain good (the baseline)', () => {
    const result = validate(
      [h.leaf.der, h.intermediate.der],
      h.root.der,
      crlRevocationChecker([rootCrl, intermediateCrl]),
    );
    expect(result.ok).toBe(true);
  });

  it('a damaged CRL never throws and never makes the certificates it covers good', () => {
    fc.assert(
      fc.property(mutation, (m) => {
        const damaged = mutate(intermediateCrl, m);
        const result = validate(
          [h.leaf.der, h.intermediate.der],
          h.root.der,
          crlRevocationChecker([rootCrl, damaged]),
        );
        return (
          coded(result) &&
          (result.ok ? !changed(intermediateCrl, damaged) : result.code === 'PATH_REVOCATION_UNKNOWN')
        );
      }),
      { numRuns: 300 },
    );
  });
});
