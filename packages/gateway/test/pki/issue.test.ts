/**
 * CA creation and leaf issuance (RFC 5280 §4.1.2.5 validity, §4.2.1 profiles) as library calls:
 * default and explicit validity windows, refusals of wrong key types, bad ids and windows that outlive
 * the issuer, issuers that are not usable CAs, DN injection through a common name, loadIssuingCa, and
 * the @peculiar/x509 loader leaving no global Reflect stub behind.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapPki } from '../../src/pki/bootstrap.ts';
import {
  CLOCK_SKEW_BACKDATE_MS,
  createIntermediateCa,
  createSelfSignedCa,
  type IssuingCa,
  loadIssuingCa,
} from '../../src/pki/ca.ts';
import { PkiError } from '../../src/pki/errors.ts';
import { identityUri } from '../../src/pki/identity.ts';
import {
  issueDeviceCertificate,
  issuePartnerCertificate,
  issueServerCertificate,
} from '../../src/pki/issue.ts';
import { extension, makeTempDir, openssl, x509Text } from './helpers.ts';

const DAY = 86_400_000;
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (error instanceof PkiError) return error.code;
    throw error;
  }
}

const ed25519 = () => generateKeyPairSync('ed25519');
const p256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });

describe('CA creation and leaf issuance', () => {
  let root: IssuingCa;
  let intermediate: IssuingCa;

  beforeAll(async () => {
    root = await createSelfSignedCa({ commonName: 'test root', now: NOW });
    intermediate = await createIntermediateCa(root, { now: NOW });
  });

  it('defaults: root 10 y, intermediate 5 y, server and partner 1 y, device 90 d; notBefore 5 min back', async () => {
    const expectWindow = (cert: X509Certificate, days: number) => {
      expect(cert.validFromDate.getTime()).toBe(NOW.getTime() - CLOCK_SKEW_BACKDATE_MS);
      expect(cert.validToDate.getTime()).toBe(NOW.getTime() + days * DAY);
    };
    expectWindow(root.certificate, 3650);
    expectWindow(intermediate.certificate, 1825);
    const device = await issueDeviceCertificate(intermediate, {
      vehicleId: 'V1',
      publicKey: ed25519().publicKey,
      now: NOW,
    });
    expectWindow(device.certificate, 90);
    const partner = await issuePartnerCertificate(intermediate, {
      partnerId: 'P1',
      publicKey: p256().publicKey,
      now: NOW,
    });
    expectWindow(partner.certificate, 365);
    const server = await issueServerCertificate(intermediate, { publicKey: p256().publicKey, now: NOW });
    expectWindow(server.certificate, 365);
  });

  it('honours validityDays and explicit notBefore / notAfter', async () => {
    const short = await issueDeviceCertificate(intermediate, {
      vehicleId: 'V1',
      publicKey: ed25519().publicKey,
      now: NOW,
      validityDays: 7,
    });
    expect(short.certificate.validToDate.getTime()).toBe(NOW.getTime() + 7 * DAY);
    const notBefore = new Date(NOW.getTime() - 3 * DAY);
    const notAfter = new Date(NOW.getTime() - DAY);
    const expired = await issueDeviceCertificate(intermediate, {
      vehicleId: 'V1',
      publicKey: ed25519().publicKey,
      notBefore,
      notAfter,
    });
    expect(expired.certificate.validFromDate).toEqual(notBefore);
    expect(expired.certificate.validToDate).toEqual(notAfter);
  });

  it('chainPem is the leaf followed by the issuing CA; the leaf verifies with openssl', async () => {
    const tmp = makeTempDir();
    try {
      const issued = await issuePartnerCertificate(intermediate, {
        partnerId: 'acme',
        publicKey: p256().publicKey,
      });
      expect(issued.chainPem).toBe(
        `${issued.certificatePem}${intermediate.certificate.toString().trimEnd()}\n`,
      );
      const rootPath = join(tmp.dir, 'root.pem');
      const chainPath = join(tmp.dir, 'chain.pem');
      writeFileSync(rootPath, root.certificate.toString());
      writeFileSync(chainPath, issued.chainPem);
      const verify = openssl(['verify', '-CAfile', rootPath, '-untrusted', chainPath, chainPath]);
      expect(verify.status).toBe(0);
      expect(extension(x509Text(issued.certificatePem), 'Subject Alternative Name')?.value).toBe(
        `URI:${identityUri('partner', 'acme')}`,
      );
    } finally {
      tmp.cleanup();
    }
  });

  it('issues a device certificate over the key it is given (leaf private keys never reach the issuer)', async () => {
    const keys = ed25519();
    const issued = await issueDeviceCertificate(intermediate, { vehicleId: 'V9', publicKey: keys.publicKey });
    expect(issued.certificate.publicKey.equals(keys.publicKey)).toBe(true);
    expect(issued.certificate.checkPrivateKey(keys.privateKey)).toBe(true);
  });

  it('refuses a key of the wrong type for the profile', async () => {
    expect(
      await codeOf(issueDeviceCertificate(intermediate, { vehicleId: 'V1', publicKey: p256().publicKey })),
    ).toBe('PKI_INVALID_ARGUMENT');
    expect(
      await codeOf(
        issuePartnerCertificate(intermediate, { partnerId: 'P1', publicKey: ed25519().publicKey }),
      ),
    ).toBe('PKI_INVALID_ARGUMENT');
    expect(await codeOf(issueServerCertificate(intermediate, { publicKey: ed25519().publicKey }))).toBe(
      'PKI_INVALID_ARGUMENT',
    );
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    expect(
      await codeOf(issuePartnerCertificate(intermediate, { partnerId: 'P1', publicKey: p384.publicKey })),
    ).toBe('PKI_INVALID_ARGUMENT');
  });

  it('refuses invalid ids', async () => {
    for (const id of ['', '../x', '-x', 'a b', 'a:b', 'é', 'x'.repeat(65)]) {
      expect(
        await codeOf(issueDeviceCertificate(intermediate, { vehicleId: id, publicKey: ed25519().publicKey })),
      ).toBe('PKI_INVALID_ID');
      expect(
        await codeOf(issuePartnerCertificate(intermediate, { partnerId: id, publicKey: p256().publicKey })),
      ).toBe('PKI_INVALID_ID');
    }
  });

  it('refuses an empty, inverted or invalid window, and one that outlives the issuer', async () => {
    const publicKey = ed25519().publicKey;
    const windows = [
      { notBefore: NOW, notAfter: NOW },
      { notBefore: new Date(NOW.getTime() + DAY), notAfter: NOW },
      { notAfter: new Date(Number.NaN) },
      { validityDays: 0 },
      { validityDays: -1 },
      { notAfter: new Date(intermediate.certificate.validToDate.getTime() + 1000) },
    ];
    for (const window of windows) {
      expect(
        await codeOf(issueDeviceCertificate(intermediate, { vehicleId: 'V1', publicKey, ...window })),
      ).toBe('PKI_INVALID_ARGUMENT');
    }
    expect(await codeOf(createIntermediateCa(root, { validityDays: 3651 }))).toBe('PKI_INVALID_ARGUMENT');
  });

  it('refuses an issuer that is not a usable CA', async () => {
    const keys = ed25519();
    const leaf = await issueDeviceCertificate(intermediate, { vehicleId: 'V1', publicKey: keys.publicKey });
    const leafAsCa = { certificate: leaf.certificate, privateKey: p256().privateKey };
    expect(
      await codeOf(issueDeviceCertificate(leafAsCa, { vehicleId: 'V2', publicKey: keys.publicKey })),
    ).toBe('PKI_CA_UNAVAILABLE');
    const wrongKey = { certificate: intermediate.certificate, privateKey: p256().privateKey };
    expect(
      await codeOf(issueDeviceCertificate(wrongKey, { vehicleId: 'V2', publicKey: keys.publicKey })),
    ).toBe('PKI_CA_UNAVAILABLE');
  });

  it('builds names from attribute values, so a common name cannot inject an RDN', async () => {
    const ca = await createSelfSignedCa({ commonName: 'x, O=evil, CN=root', pathLength: 0 });
    const rfc2253 = openssl(['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], ca.certificate.toString());
    // Two RDNs: the whole text is one CN value (its commas escaped), then O=fleetgate.
    expect(rfc2253.stdout.trim()).toBe('subject=CN=x\\, O=evil\\, CN=root,O=fleetgate');
    expect(await codeOf(createSelfSignedCa({ commonName: 'line\nbreak' }))).toBe('PKI_INVALID_ARGUMENT');
    expect(await codeOf(createSelfSignedCa({ commonName: 'ca', pathLength: -1 }))).toBe(
      'PKI_INVALID_ARGUMENT',
    );
  });

  it('createSelfSignedCa can reuse an existing key and sets the requested pathLen', async () => {
    const { privateKey } = p256();
    const ca = await createSelfSignedCa({ commonName: 'foreign', pathLength: 0, privateKey });
    expect(ca.privateKey).toBe(privateKey);
    expect(ca.certificate.checkPrivateKey(privateKey)).toBe(true);
    expect(extension(x509Text(ca.certificate.toString()), 'Basic Constraints')?.value).toBe(
      'CA:TRUE, pathlen:0',
    );
    expect(await codeOf(createSelfSignedCa({ commonName: 'x', privateKey: ed25519().privateKey }))).toBe(
      'PKI_INVALID_ARGUMENT',
    );
  });
});

describe('loadIssuingCa', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());

  it('fails closed before bootstrap, then loads the intermediate, which issues verifiable leaves', async () => {
    expect(await codeOf(loadIssuingCa(tmp.dir))).toBe('PKI_CA_UNAVAILABLE');
    const manifest = await bootstrapPki(tmp.dir, { vehicles: [], partners: [] });
    const ca = await loadIssuingCa(tmp.dir);
    expect(ca.certificate.raw.equals(new X509Certificate(ca.certificate.toString()).raw)).toBe(true);
    const issued = await issueDeviceCertificate(ca, {
      vehicleId: 'late-truck',
      publicKey: ed25519().publicKey,
    });
    const chainPath = join(tmp.dir, 'late.pem');
    writeFileSync(chainPath, issued.chainPem);
    expect(openssl(['verify', '-CAfile', manifest.caBundle, chainPath]).status).toBe(0);
  });
});
