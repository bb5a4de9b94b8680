/**
 * The OCSP responder's input is attacker-controlled: parsing never throws and every refusal is a
 * status. Properties over arbitrary bytes and over bit-flips and truncations of a valid request, and
 * the documented limits (nonce 1–32 octets, at most MAX_CERT_IDS CertIDs, critical extensions).
 * Requests are built with the same ASN.1 schemas OpenSSL's output is parsed with (the interop with the
 * real `openssl ocsp` client is in crl-ocsp.test.ts).
 */
import { createHash, type X509Certificate } from 'node:crypto';
import {
  CertID,
  id_pkix_ocsp_nonce,
  OCSPRequest,
  OCSPResponse,
  Request,
  TBSRequest,
} from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, Extension } from '@peculiar/asn1-x509';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSelfSignedCa } from '../../src/pki/ca.ts';
import { MAX_CERT_IDS, parseOcspRequest } from '../../src/pki/revocation/ocsp-request.ts';
import { OcspResponder } from '../../src/pki/revocation/ocsp-responder.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';

let issuer: X509Certificate;
let store: Store;

function certId(serial: Uint8Array, hash: 'sha1' | 'sha256' = 'sha1'): CertID {
  const cert = AsnConvert.parse(issuer.raw, Certificate);
  const name = new Uint8Array(AsnConvert.serialize(cert.tbsCertificate.subject));
  const key = new Uint8Array(cert.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey);
  return new CertID({
    hashAlgorithm: new AlgorithmIdentifier({
      algorithm: hash === 'sha1' ? '1.3.14.3.2.26' : '2.16.840.1.101.3.4.2.1',
    }),
    issuerNameHash: new OctetString(createHash(hash).update(name).digest()),
    issuerKeyHash: new OctetString(createHash(hash).update(key).digest()),
    serialNumber: serial.slice().buffer,
  });
}

function requestDer(
  options: { ids?: CertID[]; nonce?: Uint8Array; extensions?: Extension[] } = {},
): Uint8Array {
  const extensions = [...(options.extensions ?? [])];
  if (options.nonce !== undefined) {
    extensions.push(
      new Extension({
        extnID: id_pkix_ocsp_nonce,
        extnValue: new OctetString(AsnConvert.serialize(new OctetString(options.nonce))),
      }),
    );
  }
  const tbs = new TBSRequest({
    requestList: (options.ids ?? [certId(new Uint8Array([0x12, 0x34]))]).map(
      (reqCert) => new Request({ reqCert }),
    ),
    ...(extensions.length > 0 ? { requestExtensions: extensions } : {}),
  });
  return new Uint8Array(AsnConvert.serialize(new OCSPRequest({ tbsRequest: tbs })));
}

beforeAll(async () => {
  issuer = (await createSelfSignedCa({ commonName: 'OCSP parse test CA' })).certificate;
  store = await openStore({ engine: 'pglite', dataDir: undefined });
});
afterAll(async () => store?.close());

describe('OCSP request parsing', () => {
  it('reads CertIDs and the nonce of a well-formed request', () => {
    const nonce = new Uint8Array(16).fill(7);
    const parsed = parseOcspRequest(
      requestDer({
        nonce,
        ids: [certId(new Uint8Array([0x00, 0x9a])), certId(new Uint8Array([1]), 'sha256')],
      }),
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.certIds.map((c) => [c.hash, c.serialHex])).toEqual([
      ['sha1', '009a'],
      ['sha256', '01'],
    ]);
    expect(Buffer.from(parsed.nonce ?? []).toString('hex')).toBe(`0410${'07'.repeat(16)}`);
  });

  it('refuses the documented limits with a problem, not a throw', () => {
    const cases: Array<[string, Uint8Array]> = [
      ['nonce of 33 octets', requestDer({ nonce: new Uint8Array(33) })],
      ['empty nonce', requestDer({ nonce: new Uint8Array(0) })],
      [
        'too many CertIDs',
        requestDer({ ids: Array.from({ length: MAX_CERT_IDS + 1 }, () => certId(new Uint8Array([1]))) }),
      ],
      ['serial of 22 octets', requestDer({ ids: [certId(new Uint8Array(22).fill(1))] })],
      [
        'unknown critical extension',
        requestDer({
          extensions: [
            new Extension({
              extnID: '1.2.3.4',
              critical: true,
              extnValue: new OctetString(new Uint8Array([5, 0])),
            }),
          ],
        }),
      ],
      ['trailing byte', new Uint8Array([...requestDer(), 0x00])],
    ];
    for (const [what, der] of cases) {
      const parsed = parseOcspRequest(der);
      expect(parsed.ok, what).toBe(false);
    }
    // An unknown non-critical extension is ignored (RFC 6960 §4.4).
    const lenient = requestDer({
      extensions: [new Extension({ extnID: '1.2.3.4', extnValue: new OctetString(new Uint8Array([5, 0])) })],
    });
    expect(parseOcspRequest(lenient).ok).toBe(true);
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const parsed = parseOcspRequest(bytes);
        expect(typeof parsed.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on bit-flips, truncations and splices of a valid request', () => {
    const valid = requestDer({ nonce: new Uint8Array(16).fill(1), ids: [certId(new Uint8Array([1, 2, 3]))] });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.nat(valid.length),
        (flips, cut) => {
          const mutated = valid.slice(0, Math.max(cut, 1));
          for (const [at, mask] of flips) if (at < mutated.length) mutated[at] = (mutated[at] ?? 0) ^ mask;
          const parsed = parseOcspRequest(mutated);
          expect(typeof parsed.ok).toBe('boolean');
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('OCSP responder answers', () => {
  it('always returns a DER OCSPResponse, whatever the input', async () => {
    const responder = new OcspResponder({
      store,
      authorities: () => [{ issuer, keys: undefined }],
      now: () => new Date(),
      validitySeconds: 300,
    });
    const valid = requestDer();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })).map(([at, mask]) => {
            const copy = valid.slice();
            copy[at] = (copy[at] ?? 0) ^ mask;
            return copy;
          }),
        ),
        async (bytes) => {
          const answer = await responder.answer(bytes);
          const parsed = AsnConvert.parse(answer.der, OCSPResponse);
          expect(parsed.responseStatus).toBeGreaterThanOrEqual(0);
          expect(answer.status).not.toBe('successful'); // no responder keys: nothing is signed
        },
      ),
      { numRuns: 500 },
    );
    // A well-formed request for our issuer, before a responder certificate exists: tryLater.
    expect((await responder.answer(valid)).status).toBe('tryLater');
  });
});
