/**
 * crlRevocationChecker with CRLs built at test time (@peculiar/x509's CRL generator, keys generated per
 * run): a listed serial is revoked wherever it sits in the path; a CRL that is stale, not yet issued,
 * without nextUpdate, signed by the wrong key, signed by a CA not allowed to sign CRLs, or carrying an
 * unknown critical extension proves nothing (unknown, so validation fails closed); a separate
 * CRL-signing certificate counts only when it validates to the same anchor.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { x509 } from '../../../src/pki/internal/x509-lib.ts';
import { crlRevocationChecker } from '../../../src/pki/path/crl-revocation.ts';
import type { PathResult, RevocationCheck } from '../../../src/pki/path/types.ts';
import { validatePath } from '../../../src/pki/path/validate.ts';
import {
  ecKeys,
  hierarchy,
  makeCert,
  makeCrl,
  NOW,
  OID_CLIENT_AUTH,
  serialOf,
  unknownExtension,
} from './support.ts';

let h: Awaited<ReturnType<typeof hierarchy>>;
let rootCrl: Uint8Array;

beforeAll(async () => {
  h = await hierarchy();
  rootCrl = await makeCrl({ issuer: h.root });
});

function validate(revocation: RevocationCheck, time = NOW): PathResult {
  return validatePath({
    chain: [h.leaf.der, h.intermediate.der],
    trustAnchors: [h.root.der],
    time,
    purpose: 'clientAuth',
    revocation,
  });
}

function outcome(result: PathResult): string {
  return result.ok ? 'ok' : `${result.code}@${result.position}`;
}

describe('crlRevocationChecker', () => {
  it('passes a path whose every certificate is covered by a current CRL that does not list it', async () => {
    const check = crlRevocationChecker([
      rootCrl,
      await makeCrl({ issuer: h.intermediate, revoked: ['0abc'] }),
    ]);
    const result = validate(check);
    expect(outcome(result)).toBe('ok');
    expect(result.ok && result.revocationChecked).toBe(true);
  });

  it('finds a revoked leaf and a revoked intermediate, at their positions', async () => {
    const leafRevoked = await makeCrl({ issuer: h.intermediate, revoked: [serialOf(h.leaf)] });
    expect(outcome(validate(crlRevocationChecker([rootCrl, leafRevoked])))).toBe('PATH_REVOKED@0');
    const caRevoked = await makeCrl({ issuer: h.root, revoked: [serialOf(h.intermediate)] });
    const intermediateCrl = await makeCrl({ issuer: h.intermediate });
    expect(outcome(validate(crlRevocationChecker([caRevoked, intermediateCrl])))).toBe('PATH_REVOKED@1');
  });

  it('a missing CRL leaves the status unknown, which fails closed', async () => {
    expect(outcome(validate(crlRevocationChecker([rootCrl])))).toBe('PATH_REVOCATION_UNKNOWN@0');
    expect(outcome(validate(crlRevocationChecker([])))).toBe('PATH_REVOCATION_UNKNOWN@1');
  });

  it('a stale CRL, one not yet issued, and one without nextUpdate prove nothing', async () => {
    const stale = await makeCrl({
      issuer: h.intermediate,
      thisUpdate: new Date('2026-01-01T00:00:00Z'),
      nextUpdate: new Date('2026-02-01T00:00:00Z'),
    });
    const future = await makeCrl({
      issuer: h.intermediate,
      thisUpdate: new Date('2026-07-01T00:00:00Z'),
      nextUpdate: new Date('2026-08-01T00:00:00Z'),
    });
    const open = await makeCrl({ issuer: h.intermediate, nextUpdate: null });
    for (const crl of [stale, future, open]) {
      expect(outcome(validate(crlRevocationChecker([rootCrl, crl])))).toBe('PATH_REVOCATION_UNKNOWN@0');
    }
    // The stale CRL was current at an earlier event time.
    expect(outcome(validate(crlRevocationChecker([rootCrl, stale]), new Date('2026-01-15T00:00:00Z')))).toBe(
      'PATH_REVOCATION_UNKNOWN@1',
    );
  });

  it('a CRL signed by another key under the same name is ignored, even when it lists nothing', async () => {
    const forged = await makeCrl({ issuer: h.intermediate, signingKeys: await ecKeys() });
    expect(outcome(validate(crlRevocationChecker([rootCrl, forged])))).toBe('PATH_REVOCATION_UNKNOWN@0');
  });

  it('a CRL with an unknown critical extension is not used', async () => {
    const odd = await makeCrl({ issuer: h.intermediate, extensions: [unknownExtension(true)] });
    expect(outcome(validate(crlRevocationChecker([rootCrl, odd])))).toBe('PATH_REVOCATION_UNKNOWN@0');
    const fine = await makeCrl({ issuer: h.intermediate, extensions: [unknownExtension(false)] });
    expect(outcome(validate(crlRevocationChecker([rootCrl, fine])))).toBe('ok');
  });

  it('a CA whose keyUsage lacks cRLSign cannot vouch for its certificates', async () => {
    const noCrlSign = await makeCert({
      subject: 'CN=No cRLSign',
      issuer: h.root,
      ca: true,
      keyUsage: x509.KeyUsageFlags.keyCertSign,
    });
    const leaf = await makeCert({ subject: 'CN=Leaf', issuer: noCrlSign, eku: [OID_CLIENT_AUTH] });
    const result = validatePath({
      chain: [leaf.der, noCrlSign.der],
      trustAnchors: [h.root.der],
      time: NOW,
      purpose: 'clientAuth',
      revocation: crlRevocationChecker([rootCrl, await makeCrl({ issuer: noCrlSign })]),
    });
    expect(outcome(result)).toBe('PATH_REVOCATION_UNKNOWN@0');
  });

  it('a separate CRL signer counts only when it validates to the same anchor and is not revoked', async () => {
    // As in PKITS 4.4.19: the root certifies a second key under the intermediate's name, for CRLs only.
    const signer = await makeCert({
      subject: 'O=fleetgate test, CN=Intermediate',
      issuer: h.root,
      keyUsage: x509.KeyUsageFlags.cRLSign,
    });
    const bySigner = await makeCrl({ issuer: h.intermediate, signingKeys: signer.keys });
    expect(outcome(validate(crlRevocationChecker([rootCrl, bySigner])))).toBe('PATH_REVOCATION_UNKNOWN@0');
    expect(outcome(validate(crlRevocationChecker([rootCrl, bySigner], { crlSigners: [signer.der] })))).toBe(
      'ok',
    );

    const signerRevoked = await makeCrl({ issuer: h.root, revoked: [serialOf(signer)] });
    const check = crlRevocationChecker([signerRevoked, bySigner], { crlSigners: [signer.der] });
    expect(outcome(validate(check))).toBe('PATH_REVOCATION_UNKNOWN@0');

    const rogueRoot = await makeCert({ subject: 'CN=Rogue', ca: true });
    const rogue = await makeCert({
      subject: 'O=fleetgate test, CN=Intermediate',
      issuer: rogueRoot,
      keyUsage: x509.KeyUsageFlags.cRLSign,
    });
    const byRogue = await makeCrl({ issuer: h.intermediate, signingKeys: rogue.keys });
    expect(outcome(validate(crlRevocationChecker([rootCrl, byRogue], { crlSigners: [rogue.der] })))).toBe(
      'PATH_REVOCATION_UNKNOWN@0',
    );
  });

  it('a CRL never vouches for the certificate of the key that signed it', async () => {
    const signer = await makeCert({
      subject: 'O=fleetgate test, CN=Intermediate',
      issuer: h.intermediate,
      keyUsage: x509.KeyUsageFlags.cRLSign,
    });
    // The only CRL covering the signer is the one the signer signs: its status stays unknown.
    const bySigner = await makeCrl({ issuer: h.intermediate, signingKeys: signer.keys });
    expect(outcome(validate(crlRevocationChecker([rootCrl, bySigner], { crlSigners: [signer.der] })))).toBe(
      'PATH_REVOCATION_UNKNOWN@0',
    );
  });

  it('never throws on garbage input, and garbage proves nothing', () => {
    const check = crlRevocationChecker([new Uint8Array([0x30, 0x80]), new Uint8Array(0), rootCrl], {
      crlSigners: [new Uint8Array([1, 2, 3])],
    });
    expect(outcome(validate(check))).toBe('PATH_REVOCATION_UNKNOWN@0');
  });
});
