/**
 * peerIdentityFromDer on hostile certificates (chain-valid or not, the DER comes from the peer):
 * RFC 5280 §4.2.1.6 SAN URIs that are missing, doubled, non-canonical, or crafted to split into two
 * names in node's subjectAltName text; CA certificates; bytes that are not a certificate. Certificates
 * are built at test time with @peculiar/x509 (through the module's loader) and a throw-away CA.
 */
import { generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import { toHex } from '@fleetgate/core/bytes';
import { sha256 } from '@fleetgate/core/hash';
import { keyIdOf } from '@fleetgate/core/signature/ed25519';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSelfSignedCa, type IssuingCa } from '../../src/pki/ca.ts';
import { PkiError } from '../../src/pki/errors.ts';
import { splitSubjectAltNames } from '../../src/pki/internal/subject-alt-names.ts';
import {
  ECDSA_WITH_SHA256,
  ecdsaSigningKey,
  spkiDer,
  webCrypto,
  x509,
} from '../../src/pki/internal/x509-lib.ts';
import { MAX_PEER_CERTIFICATE_BYTES, peerIdentityFromDer } from '../../src/pki/peer-identity.ts';

type GeneralName = { type: 'url' | 'dns' | 'ip' | 'email'; value: string };

let ca: IssuingCa;
let leafKey: KeyObject;

/** A client certificate signed by the test CA with exactly the given SANs (none: no SAN extension). */
async function certificateWith(options: {
  sans?: GeneralName[];
  isCa?: boolean;
  commonName?: string;
}): Promise<Uint8Array> {
  const extensions: InstanceType<typeof x509.Extension>[] = [
    new x509.BasicConstraintsExtension(options.isCa ?? false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | (options.isCa ? x509.KeyUsageFlags.keyCertSign : 0),
      true,
    ),
    new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.2'], false),
  ];
  if (options.sans !== undefined)
    extensions.push(new x509.SubjectAlternativeNameExtension(options.sans, false));
  const issuer = new x509.X509Certificate(new Uint8Array(ca.certificate.raw));
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: '4a01',
      subject: [{ CN: [options.commonName ?? 'test leaf'] }],
      issuer: issuer.subjectName,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      publicKey: spkiDer(leafKey),
      signingKey: ecdsaSigningKey(ca.privateKey),
      signingAlgorithm: ECDSA_WITH_SHA256,
      extensions,
    },
    webCrypto,
  );
  return new Uint8Array(cert.rawData);
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof PkiError) return error.code;
    throw error;
  }
}

const uri = (value: string): GeneralName => ({ type: 'url', value });

beforeAll(async () => {
  ca = await createSelfSignedCa({ commonName: 'peer-identity test CA', pathLength: 0 });
  leafKey = generateKeyPairSync('ed25519').publicKey;
});

describe('peerIdentityFromDer', () => {
  it('returns the vehicle identity, thumbprint, key id, validity and serial', async () => {
    const der = await certificateWith({
      sans: [{ type: 'dns', value: 'truck.example' }, uri('urn:fleetgate:vehicle:TRK-001')],
    });
    const identity = peerIdentityFromDer(der);
    expect(identity.kind).toBe('vehicle');
    expect(identity.id).toBe('TRK-001');
    expect(identity.thumbprintSha256).toBe(toHex(sha256(der)));
    expect(identity.keyId).toBe(keyIdOf(leafKey));
    expect(identity.publicKey.equals(leafKey)).toBe(true);
    expect(identity.serialNumber).toBe('4a01');
    expect(identity.notAfter.getTime()).toBeGreaterThan(identity.notBefore.getTime());
  });

  it('returns a partner identity', async () => {
    const der = await certificateWith({
      sans: [uri('https://partner.example/'), uri('urn:fleetgate:partner:acme.co_1')],
    });
    expect(peerIdentityFromDer(der)).toMatchObject({ kind: 'partner', id: 'acme.co_1' });
  });

  it.each([
    ['no SAN extension', undefined],
    ['only a DNS name', [{ type: 'dns', value: 'truck.example' }]],
    ['only other URIs', [uri('https://fleetgate.example/vehicle/TRK-1'), uri('urn:example:vehicle:TRK-1')]],
    ['a fleetgate URN inside an email SAN', [{ type: 'email', value: 'urn:fleetgate:vehicle:TRK-1' }]],
    ['a URI that tries to inject a second name', [uri('https://x, URI:urn:fleetgate:vehicle:evil')]],
    ['a DNS name that tries to inject a URI', [{ type: 'dns', value: 'x, URI:urn:fleetgate:vehicle:evil' }]],
  ] as [string, GeneralName[] | undefined][])(
    'refuses a certificate with %s: PKI_NO_IDENTITY',
    async (_, sans) => {
      const der = await certificateWith(sans === undefined ? {} : { sans });
      expect(codeOf(() => peerIdentityFromDer(der))).toBe('PKI_NO_IDENTITY');
    },
  );

  it('never takes the identity from the subject DN', async () => {
    const der = await certificateWith({ commonName: 'urn:fleetgate:vehicle:TRK-1' });
    expect(codeOf(() => peerIdentityFromDer(der))).toBe('PKI_NO_IDENTITY');
  });

  it.each([
    ['a vehicle and a partner', ['urn:fleetgate:vehicle:TRK-1', 'urn:fleetgate:partner:acme']],
    ['the same URN twice', ['urn:fleetgate:vehicle:TRK-1', 'urn:fleetgate:vehicle:TRK-1']],
    ['two vehicles', ['urn:fleetgate:vehicle:TRK-1', 'urn:fleetgate:vehicle:TRK-2']],
    [
      'a valid URN and a differently-cased one',
      ['urn:fleetgate:vehicle:TRK-1', 'URN:FleetGate:vehicle:TRK-2'],
    ],
    ['a valid URN and an invalid one', ['urn:fleetgate:vehicle:TRK-1', 'urn:fleetgate:vehicle:../x']],
  ])('refuses %s: PKI_AMBIGUOUS_IDENTITY', async (_, values) => {
    const der = await certificateWith({ sans: values.map(uri) });
    expect(codeOf(() => peerIdentityFromDer(der))).toBe('PKI_AMBIGUOUS_IDENTITY');
  });

  it.each([
    'urn:fleetgate:vehicle:',
    'urn:fleetgate:vehicle:../etc',
    'urn:fleetgate:vehicle:-leading-dash',
    'urn:fleetgate:vehicle:TRK 1',
    'urn:fleetgate:vehicle:TRK-1 ',
    'urn:fleetgate:vehicle:TRK-1/extra',
    'urn:fleetgate:vehicle:TRK-1:extra',
    `urn:fleetgate:vehicle:${'a'.repeat(65)}`,
    'urn:fleetgate:truck:TRK-1',
    'urn:fleetgate:TRK-1',
    'URN:FLEETGATE:VEHICLE:TRK-1',
    'urn:fleetgate:vehicle:a, URI:urn:fleetgate:vehicle:b',
    'urn:fleetgate:vehicle:a"b',
    'urn:fleetgate:vehicle:a\\b',
    'urn:fleetgate:vehicle:a\nb',
  ])('refuses the invalid identity %j: PKI_INVALID_ID', async (value) => {
    const der = await certificateWith({ sans: [uri(value)] });
    expect(codeOf(() => peerIdentityFromDer(der))).toBe('PKI_INVALID_ID');
  });

  it('accepts an id of exactly 64 characters', async () => {
    const id = `A${'b'.repeat(63)}`;
    const der = await certificateWith({ sans: [uri(`urn:fleetgate:vehicle:${id}`)] });
    expect(peerIdentityFromDer(der).id).toBe(id);
  });

  it('refuses a CA certificate: PKI_NOT_END_ENTITY', async () => {
    const der = await certificateWith({ isCa: true, sans: [uri('urn:fleetgate:vehicle:TRK-1')] });
    expect(codeOf(() => peerIdentityFromDer(der))).toBe('PKI_NOT_END_ENTITY');
    expect(codeOf(() => peerIdentityFromDer(new Uint8Array(ca.certificate.raw)))).toBe('PKI_NOT_END_ENTITY');
  });

  it('refuses bytes that are not a certificate, truncated, or too large: PKI_MALFORMED_CERTIFICATE', async () => {
    const der = await certificateWith({ sans: [uri('urn:fleetgate:vehicle:TRK-1')] });
    for (const bytes of [
      new Uint8Array(0),
      new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]),
      der.subarray(0, der.length - 1),
      new Uint8Array(MAX_PEER_CERTIFICATE_BYTES + 1),
    ]) {
      expect(codeOf(() => peerIdentityFromDer(bytes))).toBe('PKI_MALFORMED_CERTIFICATE');
    }
  });

  it('fuzz: a bit-flipped certificate yields an identity or a PkiError, never another exception', async () => {
    const der = await certificateWith({ sans: [uri('urn:fleetgate:vehicle:TRK-1')] });
    fc.assert(
      fc.property(fc.nat(der.length * 8 - 1), (bit) => {
        const mutated = der.slice();
        mutated[bit >> 3] = (mutated[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        codeOf(() => peerIdentityFromDer(mutated));
      }),
      { numRuns: 500 },
    );
  });
});

describe('subjectAltName tokenizer (internal)', () => {
  it('splits node-rendered SANs exactly, for arbitrary ASCII URI values in real certificates', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: 'binary-ascii', maxLength: 24 }), { minLength: 1, maxLength: 4 }),
        async (values) => {
          const der = await certificateWith({ sans: values.map(uri) });
          const names = splitSubjectAltNames(new X509Certificate(der).subjectAltName ?? '');
          expect(names).toEqual(values.map((value) => ({ type: 'URI', value })));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('fuzz: arbitrary text yields names or a PkiError, never another exception', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (text) => {
        codeOf(() => splitSubjectAltNames(text));
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['URI:a, ', 'trailing separator'],
    ['URI:a,URI:b', 'missing space'],
    ['URI:"unterminated', 'unterminated quote'],
    ['URI:"a"x', 'text after a quoted value'],
    ['no colon here', 'no type'],
  ])('refuses %j (%s)', (text) => {
    expect(codeOf(() => splitSubjectAltNames(text))).toBe('PKI_MALFORMED_CERTIFICATE');
  });

  it('refuses more than 64 names', () => {
    const text = Array.from({ length: 65 }, (_, i) => `DNS:h${i}`).join(', ');
    expect(codeOf(() => splitSubjectAltNames(text))).toBe('PKI_MALFORMED_CERTIFICATE');
    expect(splitSubjectAltNames(text.split(', ').slice(0, 64).join(', '))).toHaveLength(64);
  });
});
