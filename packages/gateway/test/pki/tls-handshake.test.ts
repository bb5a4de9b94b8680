/**
 * Real node:tls TLS 1.3 mutual authentication with the bootstrapped PKI (the seed's "identity and
 * transport"): a vehicle with an Ed25519 device certificate and a partner with a P-256 certificate are
 * accepted and identified by peerIdentityFromDer; an expired or not-yet-valid certificate, a certificate
 * from a foreign CA (even one that copies our intermediate's name), a server certificate used as a
 * client certificate (serverAuth-only EKU), and no certificate at all are refused at the handshake.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyIdOf } from '@fleetgate/core/signature/ed25519';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapPki, type PkiManifest } from '../../src/pki/bootstrap.ts';
import { createSelfSignedCa, loadIssuingCa } from '../../src/pki/ca.ts';
import { type IssuedCertificate, issueDeviceCertificate } from '../../src/pki/issue.ts';
import { makeTempDir, mtlsHandshake, openssl } from './helpers.ts';

const DAY = 86_400_000;

describe('mTLS handshake (node:tls, TLS 1.3) with the bootstrapped PKI', () => {
  const tmp = makeTempDir();
  let manifest: PkiManifest;
  let server: { key: string; chain: string; caBundle: string };

  /** Writes a leaf and its key where a TLS client can load them. */
  function writeClient(
    name: string,
    issued: IssuedCertificate,
    keyPem: string,
  ): { key: string; chain: string } {
    const key = join(tmp.dir, `${name}.key.pem`);
    const chain = join(tmp.dir, `${name}.chain.pem`);
    writeFileSync(key, keyPem, { mode: 0o600 });
    writeFileSync(chain, issued.chainPem);
    return { key, chain };
  }

  /**
   * Refused with the production setting, and, with the same certificates, OpenSSL's reason matches
   * `reason` (so the refusal is for the expected cause, not an incidental one).
   */
  async function expectRefused(client: { key?: string; chain?: string }, reason: RegExp): Promise<void> {
    const enforced = await mtlsHandshake(server, { ...client, caBundle: manifest.caBundle });
    expect(enforced.accepted).toBe(false);
    const diagnosed = await mtlsHandshake(server, { ...client, caBundle: manifest.caBundle }, 'diagnose');
    const why = diagnosed.accepted ? diagnosed.authorizationError : diagnosed.serverError;
    expect(why).toMatch(reason);
  }

  beforeAll(async () => {
    manifest = await bootstrapPki(tmp.dir, { vehicles: ['TRK-7'], partners: ['acme'] });
    server = { key: manifest.server.key, chain: manifest.server.chain, caBundle: manifest.caBundle };
  });
  afterAll(() => tmp.cleanup());

  it('accepts the Ed25519 device certificate and identifies the vehicle', async () => {
    const device = manifest.vehicles['TRK-7'];
    const outcome = await mtlsHandshake(server, {
      key: device?.key ?? '',
      chain: device?.chain ?? '',
      caBundle: manifest.caBundle,
    });
    if (!outcome.accepted) throw new Error(`handshake refused: ${outcome.serverError}`);
    expect(outcome.protocol).toBe('TLSv1.3');
    const der = new X509Certificate(readFileSync(device?.cert ?? '')).raw;
    const signingKey = createPublicKey(createPrivateKey(readFileSync(device?.key ?? '')));
    expect(outcome.identity?.kind).toBe('vehicle');
    expect(outcome.identity?.id).toBe('TRK-7');
    expect(outcome.identity?.publicKey.asymmetricKeyType).toBe('ed25519');
    // The certificate binds the vehicle id to the key it signs telemetry with.
    expect(outcome.identity?.keyId).toBe(keyIdOf(signingKey));
    const fingerprint = new X509Certificate(der).fingerprint256.replaceAll(':', '').toLowerCase();
    expect(outcome.identity?.thumbprintSha256).toBe(fingerprint);
  });

  it('accepts the P-256 partner certificate and identifies the partner', async () => {
    const partner = manifest.partners.acme;
    const outcome = await mtlsHandshake(server, {
      key: partner?.key ?? '',
      chain: partner?.chain ?? '',
      caBundle: manifest.caBundle,
    });
    if (!outcome.accepted) throw new Error(`handshake refused: ${outcome.serverError}`);
    expect(outcome.protocol).toBe('TLSv1.3');
    expect(outcome.identity).toMatchObject({ kind: 'partner', id: 'acme' });
    expect(outcome.identity?.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('refuses an expired device certificate (and so does openssl verify)', async () => {
    const ca = await loadIssuingCa(tmp.dir);
    const keys = generateKeyPairSync('ed25519');
    const now = Date.now();
    const issued = await issueDeviceCertificate(ca, {
      vehicleId: 'TRK-7',
      publicKey: keys.publicKey,
      notBefore: new Date(now - 10 * DAY),
      notAfter: new Date(now - DAY),
    });
    const client = writeClient(
      'expired',
      issued,
      keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    );
    await expectRefused(client, /^CERT_HAS_EXPIRED$/);
    const verify = openssl(['verify', '-CAfile', manifest.caBundle, client.chain]);
    expect(verify.status).not.toBe(0);
    expect(verify.stdout + verify.stderr).toContain('certificate has expired');
  });

  it('refuses a device certificate that is not yet valid', async () => {
    const ca = await loadIssuingCa(tmp.dir);
    const keys = generateKeyPairSync('ed25519');
    const issued = await issueDeviceCertificate(ca, {
      vehicleId: 'TRK-7',
      publicKey: keys.publicKey,
      notBefore: new Date(Date.now() + DAY),
      notAfter: new Date(Date.now() + 10 * DAY),
    });
    const client = writeClient(
      'future',
      issued,
      keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    );
    await expectRefused(client, /^CERT_NOT_YET_VALID$/);
  });

  it('refuses a certificate from a foreign CA that copies our intermediate name', async () => {
    const foreign = await createSelfSignedCa({ commonName: 'fleetgate Intermediate CA', pathLength: 0 });
    const keys = generateKeyPairSync('ed25519');
    const issued = await issueDeviceCertificate(foreign, { vehicleId: 'TRK-7', publicKey: keys.publicKey });
    const keyPem = keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    // With the foreign CA in the chain, OpenSSL reaches a self-signed certificate it does not trust.
    await expectRefused(writeClient('foreign', issued, keyPem), /^SELF_SIGNED_CERT_IN_CHAIN$/);
    // With the leaf alone, the look-alike issuer name leads to our intermediate, whose key did not sign.
    const leafOnly = { ...issued, chainPem: issued.certificatePem };
    await expectRefused(
      writeClient('foreign-leaf', leafOnly, keyPem),
      /^(CERT_SIGNATURE_FAILURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/,
    );
  });

  it('refuses the server certificate presented as a client certificate (serverAuth-only EKU)', async () => {
    await expectRefused({ key: manifest.server.key, chain: manifest.server.chain }, /^INVALID_PURPOSE$/);
  });

  it('refuses a client that presents no certificate', async () => {
    // OpenSSL itself aborts the handshake here (node sets SSL_VERIFY_FAIL_IF_NO_PEER_CERT).
    const outcome = await mtlsHandshake(server, { caBundle: manifest.caBundle });
    expect(outcome.accepted).toBe(false);
    if (!outcome.accepted) expect(outcome.serverError).toMatch(/^ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE /);
  });
});
