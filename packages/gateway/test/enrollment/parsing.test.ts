/**
 * The EST parsers and writers on their own: requests made by the real openssl are read; every
 * bit-flipped, truncated or random request is refused with a coded GatewayError, never another
 * exception (fuzz); the certs-only PKCS#7 we write is read back by openssl and by an independent ASN.1
 * parser (@peculiar/asn1-cms) with the certificate bytes unchanged; configuration files without the
 * `enrollment` and `rotation` sections still load, with the documented defaults.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ContentInfo, id_signedData, SignedData } from '@peculiar/asn1-cms';
import { AsnConvert } from '@peculiar/asn1-schema';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/config.ts';
import { ConfigError, validateConfig } from '../../src/config/validate.ts';
import { GatewayError } from '../../src/errors/gateway-error.ts';
import { createSelfSignedCa } from '../../src/pki/ca.ts';
import { assertCsrNamesVehicle, decodeBase64Body, parseEnrollmentCsr } from '../../src/pki/enrollment/csr.ts';
import { base64Lines, certsOnlyPkcs7 } from '../../src/pki/enrollment/pkcs7.ts';
import { csr, genKey, mustOpenssl, pkcs7Certificates, Workdir } from './support.ts';

const LIMIT = 4096;
let w: Workdir;
let good: Uint8Array;

beforeAll(() => {
  w = new Workdir();
  const body = csr(w, genKey(w, 'ed25519'), '/CN=TRK-9', ['subjectAltName=URI:urn:fleetgate:vehicle:TRK-9']);
  good = decodeBase64Body(readFileSync(body, 'utf8'), LIMIT);
});
afterAll(() => w?.cleanup());

describe('parseEnrollmentCsr', () => {
  it('reads an openssl request: key, CN and SAN URI', () => {
    const parsed = parseEnrollmentCsr(good, LIMIT);
    expect(parsed.publicKey.asymmetricKeyType).toBe('ed25519');
    expect(parsed.commonNames).toEqual(['TRK-9']);
    expect(parsed.sanUris).toEqual(['urn:fleetgate:vehicle:TRK-9']);
    expect(parsed.otherSanCount).toBe(0);
    expect(() => assertCsrNamesVehicle(parsed, 'TRK-9')).not.toThrow();
    expect(() => assertCsrNamesVehicle(parsed, 'TRK-10')).toThrow(
      expect.objectContaining({ code: 'EST_CSR_IDENTITY_MISMATCH' }),
    );
  });

  it('accepts base64 with line breaks and refuses anything that is not base64', () => {
    const wrapped = base64Lines(good);
    expect(decodeBase64Body(wrapped, LIMIT)).toEqual(good);
    for (const body of ['', '====', 'AAA', 'A B C D !', '-----BEGIN CERTIFICATE REQUEST-----']) {
      expect(() => decodeBase64Body(body, LIMIT)).toThrow(
        expect.objectContaining({ code: 'EST_REQUEST_MALFORMED' }),
      );
    }
    expect(() => decodeBase64Body(Buffer.alloc(LIMIT + 3).toString('base64'), LIMIT)).toThrow(
      expect.objectContaining({ code: 'EST_REQUEST_MALFORMED' }),
    );
  });

  it('refuses every mutation with a coded GatewayError, never another exception (fuzz)', () => {
    const { keyId } = parseEnrollmentCsr(good, LIMIT);
    const mutated = fc.oneof(
      fc.nat(good.byteLength * 8 - 1).map((bit) => {
        const copy = Uint8Array.from(good);
        copy[bit >> 3] = (copy[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        return copy;
      }),
      fc.nat(good.byteLength - 1).map((n) => good.subarray(0, n)),
      fc.uint8Array({ maxLength: 600 }),
      fc
        .tuple(fc.nat(good.byteLength - 1), fc.uint8Array({ minLength: 1, maxLength: 8 }))
        .map(([at, bytes]) => {
          const copy = Uint8Array.from(good);
          copy.set(bytes.subarray(0, copy.byteLength - at), at);
          return copy;
        }),
    );
    fc.assert(
      fc.property(mutated, (bytes) => {
        try {
          // Accepted only if the proof of possession still holds for the same key.
          return parseEnrollmentCsr(bytes, LIMIT).keyId === keyId;
        } catch (error) {
          return error instanceof GatewayError && error.code.startsWith('EST_');
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('certsOnlyPkcs7', () => {
  it('is read by openssl and by @peculiar/asn1-cms with the certificates byte for byte', async () => {
    const root = await createSelfSignedCa({ commonName: 'test root' });
    const other = await createSelfSignedCa({ commonName: 'other root' });
    const certs = [root.certificate, other.certificate];
    const der = certsOnlyPkcs7(certs);

    const printed = pkcs7Certificates(w, base64Lines(der)).map((p) => new X509Certificate(p).fingerprint256);
    expect(printed.sort()).toEqual(certs.map((c) => c.fingerprint256).sort());

    const info = AsnConvert.parse(der, ContentInfo);
    expect(info.contentType).toBe(id_signedData);
    const signed = AsnConvert.parse(info.content, SignedData);
    expect(signed.signerInfos).toHaveLength(0);
    expect(signed.digestAlgorithms).toHaveLength(0);
    const raws = (signed.certificates ?? []).map((c) =>
      Buffer.from(AsnConvert.serialize(c.certificate)).toString('hex'),
    );
    expect(raws.sort()).toEqual(certs.map((c) => c.raw.toString('hex')).sort());
    // DER: the SET OF certificates is sorted by encoding.
    const inOrder = pkcs7Certificates(w, base64Lines(certsOnlyPkcs7([...certs].reverse())));
    expect(inOrder).toEqual(pkcs7Certificates(w, base64Lines(der)));
    expect(mustOpenssl(['version'])).toMatch(/OpenSSL/);
  });
});

describe('enrollment and rotation configuration', () => {
  it('gives a file without the new sections their defaults', () => {
    const doc = JSON.parse(JSON.stringify(defaultConfig())) as Record<string, unknown>;
    delete doc.enrollment;
    delete doc.rotation;
    const config = validateConfig(doc);
    expect(config.enrollment).toEqual({ tokenTtlSeconds: 86_400, deviceValidityDays: 90, maxCsrBytes: 4096 });
    expect(config.rotation).toEqual({
      renewAtFraction: 2 / 3,
      graceSeconds: 86_400,
      checkIntervalSeconds: 60,
    });
  });

  it('refuses unknown keys and out-of-range values with their paths', () => {
    const doc = JSON.parse(JSON.stringify(defaultConfig())) as Record<string, Record<string, unknown>>;
    (doc.rotation as Record<string, unknown>).renewAtFraction = 1.5;
    (doc.rotation as Record<string, unknown>).graceSeconds = -1;
    (doc.enrollment as Record<string, unknown>).tokenTtl = 5;
    try {
      validateConfig(doc);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual(
        expect.arrayContaining([
          expect.stringContaining('$.rotation.renewAtFraction'),
          expect.stringContaining('$.rotation.graceSeconds'),
          expect.stringContaining('$.enrollment.tokenTtl: unknown key'),
        ]),
      );
    }
  });
});
