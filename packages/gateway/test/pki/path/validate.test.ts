/**
 * validatePath, one refusal at a time: every PATH_* code it can return for a chain, each produced by a
 * certificate built at test time with exactly one thing wrong, and the position it names. Also the
 * fleetgate CA hierarchy itself (src/pki/ca.ts, issue.ts) validating for its real purposes, CA rollover
 * with two anchors, the event time (not the wall clock), and the revocation callback contract.
 */
import { generateKeyPairSync, type X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createIntermediateCa, createSelfSignedCa } from '../../../src/pki/ca.ts';
import { x509 } from '../../../src/pki/internal/x509-lib.ts';
import {
  issueDeviceCertificate,
  issuePartnerCertificate,
  issueServerCertificate,
} from '../../../src/pki/issue.ts';
import {
  PATH_CODES,
  type PathResult,
  type RevocationCheck,
  type ValidatePathInput,
} from '../../../src/pki/path/types.ts';
import { validatePath } from '../../../src/pki/path/validate.ts';
import {
  certificatePolicies,
  hierarchy,
  makeCert,
  NOW,
  nameConstraints,
  OID_CLIENT_AUTH,
  OID_SERVER_AUTH,
  policyMappings,
  rsaKeys,
  type TestCert,
  unknownExtension,
} from './support.ts';

let h: Awaited<ReturnType<typeof hierarchy>>;

function run(
  chain: readonly TestCert[],
  anchors: readonly TestCert[],
  extra: Partial<ValidatePathInput> = {},
): PathResult {
  return validatePath({
    chain: chain.map((c) => c.der),
    trustAnchors: anchors.map((a) => a.der),
    time: NOW,
    purpose: 'clientAuth',
    ...extra,
  });
}

function expectFailure(result: PathResult, code: (typeof PATH_CODES)[number], position: number): void {
  expect(result.ok ? { ok: true } : { code: result.code, position: result.position }).toEqual({
    code,
    position,
  });
}

beforeAll(async () => {
  h = await hierarchy();
});

describe('a good chain', () => {
  it('validates leaf → intermediate → root for clientAuth and reports the anchor and the path', () => {
    const result = run([h.leaf, h.intermediate], [h.root]);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.anchorIndex).toBe(0);
    expect(result.path).toHaveLength(3);
    expect(result.revocationChecked).toBe(false);
    expect(result.userConstrainedPolicySet).toEqual([]);
  });

  it('drops a trust anchor appended to the chain, but not the leaf itself', () => {
    expect(run([h.leaf, h.intermediate, h.root], [h.root]).ok).toBe(true);
    expectFailure(run([h.root], [h.root]), 'PATH_NOT_END_ENTITY', 0);
    expect(run([h.root], [h.root], { purpose: 'any' }).ok).toBe(true);
  });

  it('validates the certificates fleetgate itself issues, for the purpose each is for', async () => {
    const root = await createSelfSignedCa({ commonName: 'fleetgate test root' });
    const intermediate = await createIntermediateCa(root);
    const now = new Date();
    const device = await issueDeviceCertificate(intermediate, {
      vehicleId: 'TRK-007',
      publicKey: generateKeyPairSync('ed25519').publicKey,
    });
    const partner = await issuePartnerCertificate(intermediate, {
      partnerId: 'acme-tms',
      publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
    });
    const server = await issueServerCertificate(intermediate, {
      publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
    });
    const validate = (leaf: X509Certificate, purpose: 'clientAuth' | 'serverAuth') =>
      validatePath({
        chain: [new Uint8Array(leaf.raw), new Uint8Array(intermediate.certificate.raw)],
        trustAnchors: [root.certificate],
        time: now,
        purpose,
      });
    expect(validate(device.certificate, 'clientAuth').ok).toBe(true);
    expect(validate(partner.certificate, 'clientAuth').ok).toBe(true);
    expect(validate(server.certificate, 'serverAuth').ok).toBe(true);
    expectFailure(validate(device.certificate, 'serverAuth'), 'PATH_EKU', 0);
    expectFailure(validate(server.certificate, 'clientAuth'), 'PATH_EKU', 0);
  });
});

describe('CA rollover: two trust anchors at once', () => {
  it('accepts chains to the old and to the new root and says which', async () => {
    const newRoot = await makeCert({ subject: 'O=fleetgate test, CN=Root', ca: true, pathLength: 1 });
    const newIntermediate = await makeCert({
      subject: 'O=fleetgate test, CN=Intermediate',
      issuer: newRoot,
      ca: true,
      pathLength: 0,
    });
    const newLeaf = await makeCert({
      subject: 'CN=TRK-002',
      issuer: newIntermediate,
      eku: [OID_CLIENT_AUTH],
    });
    const old = run([h.leaf, h.intermediate], [newRoot, h.root]);
    const fresh = run([newLeaf, newIntermediate], [newRoot, h.root]);
    expect(old.ok && old.anchorIndex).toBe(1);
    expect(fresh.ok && fresh.anchorIndex).toBe(0);
    // Same names, different keys: without the right anchor the signature cannot verify.
    expectFailure(run([newLeaf, newIntermediate], [h.root]), 'PATH_SIGNATURE_INVALID', 1);
  });

  it('refuses a chain to an anchor that has expired by the event time', async () => {
    const expiring = await makeCert({
      subject: 'CN=Old Root',
      ca: true,
      notAfter: new Date('2026-01-01T00:00:00Z'),
    });
    const leaf = await makeCert({ subject: 'CN=TRK-003', issuer: expiring, eku: [OID_CLIENT_AUTH] });
    expectFailure(run([leaf], [expiring]), 'PATH_EXPIRED', 1);
    expect(run([leaf], [expiring], { time: new Date('2025-06-01T00:00:00Z') }).ok).toBe(true);
  });
});

describe('validity is judged at the event time', () => {
  it('PATH_EXPIRED and PATH_NOT_YET_VALID name the certificate', async () => {
    const short = await makeCert({
      subject: 'CN=TRK-004',
      issuer: h.intermediate,
      eku: [OID_CLIENT_AUTH],
      notBefore: new Date('2026-01-01T00:00:00Z'),
      notAfter: new Date('2026-02-01T00:00:00Z'),
    });
    expectFailure(run([short, h.intermediate], [h.root]), 'PATH_EXPIRED', 0);
    expectFailure(
      run([short, h.intermediate], [h.root], { time: new Date('2025-12-31T00:00:00Z') }),
      'PATH_NOT_YET_VALID',
      0,
    );
    expect(run([short, h.intermediate], [h.root], { time: new Date('2026-01-15T00:00:00Z') }).ok).toBe(true);
  });
});

describe('one thing wrong at a time', () => {
  it('PATH_NO_ANCHOR for a chain from an unknown CA', async () => {
    const strangeRoot = await makeCert({ subject: 'CN=Stranger Root', ca: true });
    const strangeCa = await makeCert({ subject: 'CN=Stranger CA', issuer: strangeRoot, ca: true });
    const leaf = await makeCert({ subject: 'CN=Stranger', issuer: strangeCa, eku: [OID_CLIENT_AUTH] });
    expectFailure(run([leaf, strangeCa], [h.root]), 'PATH_NO_ANCHOR', 1);
  });

  it('PATH_NAME_CHAINING for a chain out of order or with a gap', async () => {
    expectFailure(run([h.intermediate, h.leaf], [h.root], { purpose: 'any' }), 'PATH_NO_ANCHOR', 1);
    const other = await makeCert({ subject: 'CN=Other CA', issuer: h.root, ca: true });
    expectFailure(run([h.leaf, other], [h.root]), 'PATH_NAME_CHAINING', 0);
  });

  it('PATH_SIGNATURE_INVALID for one flipped bit in the leaf signature', () => {
    const der = h.leaf.der.slice();
    const at = der.length - 3;
    der[at] = (der[at] ?? 0) ^ 0x01;
    expectFailure(run([{ ...h.leaf, der }, h.intermediate], [h.root]), 'PATH_SIGNATURE_INVALID', 0);
  });

  it('PATH_WEAK_SIGNATURE for SHA-1, PATH_WEAK_KEY for RSA-1024', async () => {
    const rsaRoot = await makeCert({ subject: 'CN=RSA Root', ca: true, keys: await rsaKeys(2048) });
    // WebCrypto binds the hash to the RSA key, so the SHA-1 signer is a root with a SHA-1 key.
    const sha1Root = await makeCert({
      subject: 'CN=SHA1 Root',
      ca: true,
      keys: await rsaKeys(2048, 'SHA-1'),
    });
    const sha1 = await makeCert({ subject: 'CN=SHA1 leaf', issuer: sha1Root, eku: [OID_CLIENT_AUTH] });
    expectFailure(run([sha1], [sha1Root]), 'PATH_WEAK_SIGNATURE', 0);
    const weak = await makeCert({
      subject: 'CN=RSA1024 leaf',
      issuer: rsaRoot,
      eku: [OID_CLIENT_AUTH],
      keys: await rsaKeys(1024),
    });
    expectFailure(run([weak], [rsaRoot]), 'PATH_WEAK_KEY', 0);
    expect(
      run(
        [
          await makeCert({
            subject: 'CN=RSA2048 leaf',
            issuer: rsaRoot,
            eku: [OID_CLIENT_AUTH],
            keys: await rsaKeys(2048),
          }),
        ],
        [rsaRoot],
      ).ok,
    ).toBe(true);
  });

  it('PATH_NOT_CA for an issuer without cA, or without basicConstraints', async () => {
    const notCa = await makeCert({
      subject: 'CN=Not a CA',
      issuer: h.root,
      ca: false,
      keyUsage: x509.KeyUsageFlags.keyCertSign,
    });
    const leaf = await makeCert({ subject: 'CN=Under not-CA', issuer: notCa, eku: [OID_CLIENT_AUTH] });
    expectFailure(run([leaf, notCa], [h.root]), 'PATH_NOT_CA', 1);
    const noBc = await makeCert({
      subject: 'CN=No BC',
      issuer: h.root,
      noBasicConstraints: true,
      keyUsage: x509.KeyUsageFlags.keyCertSign,
    });
    const leaf2 = await makeCert({ subject: 'CN=Under no-BC', issuer: noBc, eku: [OID_CLIENT_AUTH] });
    expectFailure(run([leaf2, noBc], [h.root]), 'PATH_NOT_CA', 1);
  });

  it('PATH_LEN_EXCEEDED below an intermediate with pathLen 0, and below the anchor’s pathLen', async () => {
    const sub = await makeCert({ subject: 'CN=Sub CA', issuer: h.intermediate, ca: true });
    const leaf = await makeCert({ subject: 'CN=Deep leaf', issuer: sub, eku: [OID_CLIENT_AUTH] });
    expectFailure(run([leaf, sub, h.intermediate], [h.root]), 'PATH_LEN_EXCEEDED', 1);
    const root0 = await makeCert({ subject: 'CN=Root pathLen 0', ca: true, pathLength: 0 });
    const inter = await makeCert({ subject: 'CN=Inter', issuer: root0, ca: true });
    const leaf3 = await makeCert({ subject: 'CN=Leaf', issuer: inter, eku: [OID_CLIENT_AUTH] });
    expectFailure(run([leaf3, inter], [root0]), 'PATH_LEN_EXCEEDED', 1);
  });

  it('PATH_KEY_USAGE for an issuer without keyCertSign and a leaf without digitalSignature', async () => {
    const noSign = await makeCert({
      subject: 'CN=No certSign',
      issuer: h.root,
      ca: true,
      keyUsage: x509.KeyUsageFlags.cRLSign,
    });
    const leaf = await makeCert({ subject: 'CN=Leaf', issuer: noSign, eku: [OID_CLIENT_AUTH] });
    expectFailure(run([leaf, noSign], [h.root]), 'PATH_KEY_USAGE', 1);
    const noUsage = await makeCert({ subject: 'CN=No KU', issuer: h.root, ca: true, keyUsage: null });
    const leaf2 = await makeCert({ subject: 'CN=Leaf', issuer: noUsage, eku: [OID_CLIENT_AUTH] });
    expectFailure(run([leaf2, noUsage], [h.root]), 'PATH_KEY_USAGE', 1);
    const enc = await makeCert({
      subject: 'CN=Encipher only',
      issuer: h.intermediate,
      eku: [OID_CLIENT_AUTH],
      keyUsage: x509.KeyUsageFlags.keyAgreement,
    });
    expectFailure(run([enc, h.intermediate], [h.root]), 'PATH_KEY_USAGE', 0);
  });

  it('PATH_EKU for a serverAuth-only leaf used as a client, or an intermediate limited to serverAuth', async () => {
    const server = await makeCert({ subject: 'CN=Server', issuer: h.intermediate, eku: [OID_SERVER_AUTH] });
    expectFailure(run([server, h.intermediate], [h.root]), 'PATH_EKU', 0);
    expect(run([server, h.intermediate], [h.root], { purpose: 'serverAuth' }).ok).toBe(true);
    const noEku = await makeCert({ subject: 'CN=No EKU', issuer: h.intermediate });
    expectFailure(run([noEku, h.intermediate], [h.root]), 'PATH_EKU', 0);
    const serverCa = await makeCert({
      subject: 'CN=Server CA',
      issuer: h.root,
      ca: true,
      eku: [OID_SERVER_AUTH],
    });
    const client = await makeCert({ subject: 'CN=Client', issuer: serverCa, eku: [OID_CLIENT_AUTH] });
    expectFailure(run([client, serverCa], [h.root]), 'PATH_EKU', 1);
  });

  it('PATH_NOT_END_ENTITY for a CA certificate presented as the client', () => {
    expectFailure(run([h.intermediate], [h.root]), 'PATH_NOT_END_ENTITY', 0);
  });

  it('PATH_UNKNOWN_CRITICAL_EXTENSION, while an unknown non-critical one is ignored', async () => {
    const critical = await makeCert({
      subject: 'CN=Critical',
      issuer: h.intermediate,
      eku: [OID_CLIENT_AUTH],
      extensions: [unknownExtension(true)],
    });
    const plain = await makeCert({
      subject: 'CN=Plain',
      issuer: h.intermediate,
      eku: [OID_CLIENT_AUTH],
      extensions: [unknownExtension(false)],
    });
    expectFailure(run([critical, h.intermediate], [h.root]), 'PATH_UNKNOWN_CRITICAL_EXTENSION', 0);
    expect(run([plain, h.intermediate], [h.root]).ok).toBe(true);
  });

  it('PATH_CHAIN_TOO_LONG before parsing anything beyond the limit', () => {
    const chain = [h.leaf, h.intermediate, h.intermediate, h.intermediate];
    expectFailure(run(chain, [h.root], { maxChainLength: 3 }), 'PATH_CHAIN_TOO_LONG', 3);
  });

  it('PATH_MALFORMED names the certificate that does not parse', () => {
    const result = validatePath({
      chain: [h.leaf.der, new Uint8Array([0x30, 0x03, 0x02, 0x01])],
      trustAnchors: [h.root.der],
      time: NOW,
      purpose: 'clientAuth',
    });
    expectFailure(result, 'PATH_MALFORMED', 1);
  });

  it('PATH_INVALID_INPUT for a caller mistake, never an exception', () => {
    const base = {
      chain: [h.leaf.der],
      trustAnchors: [h.root.der],
      time: NOW,
      purpose: 'clientAuth',
    } as const;
    expectFailure(validatePath({ ...base, trustAnchors: [] }), 'PATH_INVALID_INPUT', -1);
    expectFailure(
      validatePath({ ...base, trustAnchors: [new Uint8Array([1, 2, 3])] }),
      'PATH_INVALID_INPUT',
      -1,
    );
    expectFailure(validatePath({ ...base, time: new Date(Number.NaN) }), 'PATH_INVALID_INPUT', -1);
    expectFailure(validatePath({ ...base, chain: [] }), 'PATH_INVALID_INPUT', -1);
    expectFailure(validatePath({ ...base, maxChainLength: 0 }), 'PATH_INVALID_INPUT', -1);
    expectFailure(validatePath({ ...base, initialPolicySet: ['not an oid'] }), 'PATH_INVALID_INPUT', -1);
    expectFailure(validatePath(null as unknown as ValidatePathInput), 'PATH_MALFORMED', -1);
  });
});

describe('name constraints, including fleetgate URNs', () => {
  let vehicleCa: TestCert;
  let root: TestCert;

  beforeAll(async () => {
    root = await makeCert({ subject: 'CN=NC Root', ca: true });
    vehicleCa = await makeCert({
      subject: 'CN=Vehicle CA',
      issuer: root,
      ca: true,
      extensions: [
        nameConstraints(
          [
            { type: 'url', value: 'urn:fleetgate:vehicle:' },
            { type: 'dns', value: 'fleet.example' },
          ],
          [
            { type: 'url', value: 'urn:fleetgate:vehicle:TRK-666' },
            { type: 'ipRange', bytes: [10, 0, 0, 0, 255, 0, 0, 0] },
          ],
        ),
      ],
    });
  });

  const leafWith = (sans: { type: 'url' | 'dns' | 'ip' | 'email'; value: string }[]) =>
    makeCert({ subject: 'CN=Leaf', issuer: vehicleCa, eku: [OID_CLIENT_AUTH], sans });

  it('a vehicle URN and a host below the permitted DNS subtree pass', async () => {
    const leaf = await leafWith([
      { type: 'url', value: 'urn:fleetgate:vehicle:TRK-001' },
      { type: 'dns', value: 'trk-001.fleet.example' },
    ]);
    expect(run([leaf, vehicleCa], [root]).ok).toBe(true);
  });

  it('the URN scheme and namespace id compare case-insensitively (RFC 8141), the rest exactly', async () => {
    expect(
      run([await leafWith([{ type: 'url', value: 'URN:FleetGate:vehicle:TRK-001' }]), vehicleCa], [root]).ok,
    ).toBe(true);
    const upper = await leafWith([{ type: 'url', value: 'urn:fleetgate:VEHICLE:TRK-001' }]);
    expectFailure(run([upper, vehicleCa], [root]), 'PATH_NAME_CONSTRAINTS', 0);
  });

  it('a partner URN, an excluded vehicle, a URL, a foreign host and an excluded address are refused', async () => {
    for (const sans of [
      [{ type: 'url' as const, value: 'urn:fleetgate:partner:acme-tms' }],
      [{ type: 'url' as const, value: 'urn:fleetgate:vehicle:TRK-666' }],
      [{ type: 'url' as const, value: 'https://fleet.example/x' }],
      [{ type: 'dns' as const, value: 'fleet.example.evil' }],
      [{ type: 'dns' as const, value: 'xfleet.example' }],
      [{ type: 'ip' as const, value: '10.1.2.3' }],
      // ::ffff:10.1.2.3, the IPv4-mapped form of an excluded address
      [{ type: 'ip' as const, value: '::ffff:a01:203' }],
    ]) {
      expectFailure(run([await leafWith(sans), vehicleCa], [root]), 'PATH_NAME_CONSTRAINTS', 0);
    }
    expect(run([await leafWith([{ type: 'ip', value: '192.0.2.1' }]), vehicleCa], [root]).ok).toBe(true);
  });

  it('directoryName subtrees constrain the subject DN; excluded subtrees win', async () => {
    const dnCa = await makeCert({
      subject: 'CN=DN CA',
      issuer: root,
      ca: true,
      extensions: [
        nameConstraints(
          [{ type: 'dn', name: 'O=fleetgate' }],
          [{ type: 'dn', name: 'O=fleetgate, OU=revoked' }],
        ),
      ],
    });
    const inside = await makeCert({
      subject: 'O=fleetgate, OU=vehicle, CN=TRK-1',
      issuer: dnCa,
      eku: [OID_CLIENT_AUTH],
    });
    const outside = await makeCert({ subject: 'O=other, CN=TRK-1', issuer: dnCa, eku: [OID_CLIENT_AUTH] });
    const excluded = await makeCert({
      subject: 'O=fleetgate, OU=revoked, CN=TRK-1',
      issuer: dnCa,
      eku: [OID_CLIENT_AUTH],
    });
    expect(run([inside, dnCa], [root]).ok).toBe(true);
    expectFailure(run([outside, dnCa], [root]), 'PATH_NAME_CONSTRAINTS', 0);
    expectFailure(run([excluded, dnCa], [root]), 'PATH_NAME_CONSTRAINTS', 0);
  });

  it('a wildcard DNS name that could expand into an excluded subtree is refused', async () => {
    const ca = await makeCert({
      subject: 'CN=Wildcard CA',
      issuer: root,
      ca: true,
      extensions: [nameConstraints([], [{ type: 'dns', value: 'admin.fleet.example' }])],
    });
    const wildcard = await makeCert({
      subject: 'CN=Wild',
      issuer: ca,
      eku: [OID_SERVER_AUTH],
      sans: [{ type: 'dns', value: '*.fleet.example' }],
    });
    expectFailure(run([wildcard, ca], [root], { purpose: 'serverAuth' }), 'PATH_NAME_CONSTRAINTS', 0);
  });
});

describe('certificate policies', () => {
  const P = (n: number) => `1.3.6.1.4.1.55555.2.${n}`;

  it('an explicit policy requirement fails when no common policy exists', async () => {
    const root = await makeCert({ subject: 'CN=Policy Root', ca: true });
    const ca = await makeCert({
      subject: 'CN=Policy CA',
      issuer: root,
      ca: true,
      extensions: [certificatePolicies([P(1)])],
    });
    const leaf = await makeCert({
      subject: 'CN=Leaf',
      issuer: ca,
      eku: [OID_CLIENT_AUTH],
      extensions: [certificatePolicies([P(2)])],
    });
    expectFailure(run([leaf, ca], [root], { initialExplicitPolicy: true }), 'PATH_POLICY', 0);
    const good = await makeCert({
      subject: 'CN=Leaf',
      issuer: ca,
      eku: [OID_CLIENT_AUTH],
      extensions: [certificatePolicies([P(1)])],
    });
    const result = run([good, ca], [root], { initialExplicitPolicy: true, initialPolicySet: [P(1)] });
    expect(result.ok && result.userConstrainedPolicySet).toEqual([P(1)]);
  });

  it('refuses a policy tree that would grow past its node limit (CVE-2023-0464) with PATH_POLICY', async () => {
    const policies = [1, 2, 3, 4, 5, 6, 7, 8].map(P);
    const mappings = policies.flatMap((from) => policies.map((to) => [from, to] as const));
    const root = await makeCert({ subject: 'CN=Bomb Root', ca: true });
    let issuer = root;
    const cas: TestCert[] = [];
    for (let i = 0; i < 4; i++) {
      issuer = await makeCert({
        subject: `CN=Bomb CA ${i}`,
        issuer,
        ca: true,
        extensions: [certificatePolicies(policies), policyMappings(mappings)],
      });
      cas.unshift(issuer);
    }
    const leaf = await makeCert({
      subject: 'CN=Leaf',
      issuer,
      eku: [OID_CLIENT_AUTH],
      extensions: [certificatePolicies(policies)],
    });
    const result = run([leaf, ...cas], [root]);
    expect(result.ok ? 'ok' : `${result.code}: ${result.detail}`).toMatch(
      /^PATH_POLICY: policy tree exceeds/,
    );
  });
});

describe('revocation callback', () => {
  const chain = () => [h.leaf, h.intermediate];

  it('is asked about every certificate, anchor side first, with the path and the time', () => {
    const seen: string[] = [];
    const result = run(chain(), [h.root], {
      revocation: (cert, issuer, context) => {
        seen.push(`${context.position}:${issuer === context.path[context.position + 1]}`);
        expect(context.time).toBe(NOW);
        expect(cert).toBe(context.path[context.position]);
        return 'good';
      },
    });
    expect(result.ok && result.revocationChecked).toBe(true);
    expect(seen).toEqual(['1:true', '0:true']);
  });

  it('revoked → PATH_REVOKED at that position; unknown fails closed unless waived', () => {
    expectFailure(
      run(chain(), [h.root], { revocation: (_c, _i, ctx) => (ctx.position === 1 ? 'revoked' : 'good') }),
      'PATH_REVOKED',
      1,
    );
    expectFailure(run(chain(), [h.root], { revocation: () => 'unknown' }), 'PATH_REVOCATION_UNKNOWN', 1);
    expect(run(chain(), [h.root], { revocation: () => 'unknown', allowUnknownRevocation: true }).ok).toBe(
      true,
    );
  });

  it('a callback that throws or answers nonsense fails closed, even when unknown is waived', () => {
    const boom = () => {
      throw new Error('store down');
    };
    expectFailure(
      run(chain(), [h.root], { revocation: boom, allowUnknownRevocation: true }),
      'PATH_REVOCATION_UNKNOWN',
      1,
    );
    const nonsense = (() => 'maybe') as unknown as RevocationCheck;
    expectFailure(
      run(chain(), [h.root], { revocation: nonsense, allowUnknownRevocation: true }),
      'PATH_REVOCATION_UNKNOWN',
      1,
    );
  });

  it('is never consulted for a chain that fails another check', () => {
    let calls = 0;
    const expired = run(chain(), [h.root], {
      time: new Date('2040-01-01T00:00:00Z'),
      revocation: () => {
        calls++;
        return 'good';
      },
    });
    expect(expired.ok).toBe(false);
    expect(calls).toBe(0);
  });
});

describe('the result codes', () => {
  it('every failure above uses a code from the closed union', () => {
    expect(new Set(PATH_CODES).size).toBe(PATH_CODES.length);
    expect(PATH_CODES.every((c) => /^PATH_[A-Z_]+$/.test(c))).toBe(true);
  });
});
