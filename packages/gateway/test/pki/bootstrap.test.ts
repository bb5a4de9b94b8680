/**
 * bootstrapPki against outside authorities: the real `openssl verify` on every leaf, `openssl x509
 * -text` for each profile (RFC 5280 §4.2.1), file modes, idempotency, and the conservative rules for
 * partial state (a certificate without its key, a loose key file, a replaced intermediate).
 */
import { X509Certificate } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapPki, type PkiManifest } from '../../src/pki/bootstrap.ts';
import { PkiError } from '../../src/pki/errors.ts';
import { extension, makeTempDir, openssl, x509Text } from './helpers.ts';

const VEHICLES = ['TRK-001', 'TRK-002'];
const PARTNERS = ['acme-logistics'];

function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (path: string): void => {
    const stat = statSync(path);
    out.set(relative(dir, path) || '.', `${(stat.mode & 0o777).toString(8)}`);
    if (stat.isDirectory()) {
      for (const name of readdirSync(path)) walk(join(path, name));
    } else {
      out.set(`${relative(dir, path)}#bytes`, readFileSync(path, 'base64'));
    }
  };
  walk(dir);
  return out;
}

async function expectPkiError(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PkiError);
  expect((error as PkiError).code).toBe(code);
}

describe('bootstrapPki', () => {
  const tmp = makeTempDir();
  let manifest: PkiManifest;

  beforeAll(async () => {
    manifest = await bootstrapPki(tmp.dir, { vehicles: VEHICLES, partners: PARTNERS });
  });
  afterAll(() => tmp.cleanup());

  it('lays out DIR/pki as documented and reports every file it wrote', () => {
    const pki = join(tmp.dir, 'pki');
    expect(manifest.dir).toBe(pki);
    expect(manifest.caBundle).toBe(join(pki, 'ca.pem'));
    expect(manifest.server.chain).toBe(join(pki, 'server', 'chain.pem'));
    expect(manifest.vehicles['TRK-001']?.key).toBe(join(pki, 'devices', 'TRK-001', 'key.pem'));
    expect(manifest.partners['acme-logistics']?.cert).toBe(
      join(pki, 'partners', 'acme-logistics', 'cert.pem'),
    );
    expect(Object.keys(manifest.vehicles)).toEqual(VEHICLES);
    // root 2 (encrypted key.json, cert), intermediate 2, the generated CA passphrase file 1, ca.pem 1,
    // server 3, one partner 3, two vehicles 3 each
    expect(manifest.written).toHaveLength(18);
    expect(manifest.written).toContain(join(tmp.dir, 'secrets', 'ca-passphrase'));
    for (const path of manifest.written) expect(existsSync(path)).toBe(true);
  });

  it('writes private keys 0600, certificates 0644 and folders 0700', () => {
    const snap = snapshot(manifest.dir);
    const keys = [...snap.keys()].filter((p) => p.endsWith('key.pem') || p.endsWith('key.json'));
    expect(keys).toHaveLength(6); // root, intermediate (key.json), server, one partner, two vehicles
    for (const [path, mode] of snap) {
      if (path.endsWith('#bytes')) continue;
      if (path.endsWith('key.pem') || path.endsWith('key.json')) expect([path, mode]).toEqual([path, '600']);
      else if (path.endsWith('.pem')) expect([path, mode]).toEqual([path, '644']);
      else expect([path, mode]).toEqual([path, '700']);
    }
    // CA keys go through the key provider (docs/pki.md "Key custody"): encrypted, never plaintext PEM.
    expect(manifest.root.key).toBe(join(manifest.dir, 'root', 'key.json'));
    expect(JSON.parse(readFileSync(manifest.root.key, 'utf8'))).toMatchObject({ provider: 'file' });
    expect(readFileSync(manifest.root.key, 'utf8')).not.toContain('PRIVATE KEY');
  });

  it('every leaf passes `openssl verify` against the root with the intermediate untrusted', () => {
    const leaves = [
      manifest.server,
      ...Object.values(manifest.partners),
      ...Object.values(manifest.vehicles),
    ];
    for (const leaf of leaves) {
      const result = openssl([
        'verify',
        '-CAfile',
        manifest.root.cert,
        '-untrusted',
        manifest.intermediate.cert,
        leaf.cert,
      ]);
      expect(result.stdout.trim()).toBe(`${leaf.cert}: OK`);
      expect(result.status).toBe(0);
    }
    // The same holds for the bundles the TLS endpoints use: chain.pem (leaf + intermediate) and ca.pem.
    const chain = openssl([
      'verify',
      '-CAfile',
      manifest.caBundle,
      manifest.vehicles['TRK-002']?.chain ?? '',
    ]);
    expect(chain.status).toBe(0);
    // Without the intermediate the chain cannot be built: the leaves are not signed by the root.
    const noIntermediate = openssl(['verify', '-CAfile', manifest.root.cert, manifest.server.cert]);
    expect(noIntermediate.status).not.toBe(0);
  });

  it('chain.pem is the leaf then the intermediate; ca.pem is the root then the intermediate', () => {
    const blocks = (path: string) =>
      readFileSync(path, 'utf8').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g) ?? [];
    const root = readFileSync(manifest.root.cert, 'utf8');
    const intermediate = readFileSync(manifest.intermediate.cert, 'utf8');
    expect(blocks(manifest.caBundle)).toEqual([root, intermediate]);
    const device = manifest.vehicles['TRK-001'];
    expect(blocks(device?.chain ?? '')).toEqual([readFileSync(device?.cert ?? '', 'utf8'), intermediate]);
  });

  it('root profile: CA:TRUE pathlen 1, keyCertSign|cRLSign, SKI, P-256, ecdsa-with-SHA256', () => {
    const text = x509Text(manifest.root.cert);
    expect(extension(text, 'Basic Constraints')).toEqual({ critical: true, value: 'CA:TRUE, pathlen:1' });
    expect(extension(text, 'Key Usage')).toEqual({ critical: true, value: 'Certificate Sign, CRL Sign' });
    expect(extension(text, 'Subject Key Identifier')?.critical).toBe(false);
    expect(text).toContain('ASN1 OID: prime256v1');
    expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256');
    expect(extension(text, 'Extended Key Usage')).toBeUndefined();
  });

  it('intermediate profile: CA:TRUE pathlen 0, keyCertSign|cRLSign, SKI and AKI = root SKI', () => {
    const text = x509Text(manifest.intermediate.cert);
    expect(extension(text, 'Basic Constraints')).toEqual({ critical: true, value: 'CA:TRUE, pathlen:0' });
    expect(extension(text, 'Key Usage')).toEqual({ critical: true, value: 'Certificate Sign, CRL Sign' });
    const rootSki = extension(x509Text(manifest.root.cert), 'Subject Key Identifier')?.value;
    expect(extension(text, 'Authority Key Identifier')).toEqual({ critical: false, value: rootSki });
  });

  it('server profile: CA:FALSE, digitalSignature, serverAuth only, SAN localhost + loopback IPs', () => {
    const text = x509Text(manifest.server.cert);
    expect(extension(text, 'Basic Constraints')).toEqual({ critical: true, value: 'CA:FALSE' });
    expect(extension(text, 'Key Usage')).toEqual({ critical: true, value: 'Digital Signature' });
    expect(extension(text, 'Extended Key Usage')?.value).toBe('TLS Web Server Authentication');
    expect(extension(text, 'Subject Alternative Name')?.value).toBe(
      'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
    expect(text).toContain('ASN1 OID: prime256v1');
  });

  it('partner profile: clientAuth only, SAN URI urn:fleetgate:partner:<id>, P-256', () => {
    const text = x509Text(manifest.partners['acme-logistics']?.cert ?? '');
    expect(extension(text, 'Basic Constraints')).toEqual({ critical: true, value: 'CA:FALSE' });
    expect(extension(text, 'Key Usage')).toEqual({ critical: true, value: 'Digital Signature' });
    expect(extension(text, 'Extended Key Usage')?.value).toBe('TLS Web Client Authentication');
    expect(extension(text, 'Subject Alternative Name')?.value).toBe(
      'URI:urn:fleetgate:partner:acme-logistics',
    );
    expect(text).toContain('ASN1 OID: prime256v1');
  });

  it('device profile: clientAuth only, SAN URI urn:fleetgate:vehicle:<id>, Ed25519 key, 90 days', () => {
    const text = x509Text(manifest.vehicles['TRK-001']?.cert ?? '');
    expect(extension(text, 'Basic Constraints')).toEqual({ critical: true, value: 'CA:FALSE' });
    expect(extension(text, 'Key Usage')).toEqual({ critical: true, value: 'Digital Signature' });
    expect(extension(text, 'Extended Key Usage')?.value).toBe('TLS Web Client Authentication');
    expect(extension(text, 'Subject Alternative Name')?.value).toBe('URI:urn:fleetgate:vehicle:TRK-001');
    expect(text).toContain('Public Key Algorithm: ED25519');
    expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256'); // signed by the P-256 intermediate
    const cert = new X509Certificate(readFileSync(manifest.vehicles['TRK-001']?.cert ?? ''));
    const days = (cert.validToDate.getTime() - cert.validFromDate.getTime()) / 86_400_000;
    expect(days).toBeCloseTo(90 + 5 / 1440, 3); // 90 days plus the 5-minute backdate
  });

  it('serials are random, positive, 16 octets', () => {
    const serials = new Set<string>();
    for (const path of [manifest.root.cert, manifest.intermediate.cert, manifest.server.cert]) {
      const serial = openssl(['x509', '-noout', '-serial', '-in', path]).stdout.trim().replace('serial=', '');
      expect(serial).toMatch(/^[4-7][0-9A-F]{31}$/);
      serials.add(serial);
    }
    expect(serials.size).toBe(3);
  });

  it('a second run with the same arguments changes no byte and no mode', async () => {
    const before = snapshot(manifest.dir);
    const again = await bootstrapPki(tmp.dir, { vehicles: VEHICLES, partners: PARTNERS });
    expect(again.written).toEqual([]);
    expect(snapshot(manifest.dir)).toEqual(before);
  });

  it('adding a vehicle issues only that vehicle, under the existing intermediate', async () => {
    const before = snapshot(manifest.dir);
    const again = await bootstrapPki(tmp.dir, { vehicles: [...VEHICLES, 'TRK-003'], partners: PARTNERS });
    const added = again.vehicles['TRK-003'];
    expect(again.written).toEqual([added?.key, added?.cert, added?.chain]);
    const after = snapshot(manifest.dir);
    for (const [path, value] of before) expect([path, after.get(path)]).toEqual([path, value]);
    const verify = openssl([
      'verify',
      '-CAfile',
      manifest.root.cert,
      '-untrusted',
      manifest.intermediate.cert,
      added?.cert ?? '',
    ]);
    expect(verify.status).toBe(0);
  });

  it('re-issues a missing certificate for the existing key, never a new key', async () => {
    const device = manifest.vehicles['TRK-002'];
    const keyBefore = readFileSync(device?.key ?? '', 'utf8');
    const oldCert = new X509Certificate(readFileSync(device?.cert ?? ''));
    rmSync(device?.cert ?? '');
    const again = await bootstrapPki(tmp.dir, { vehicles: VEHICLES, partners: PARTNERS });
    expect(again.written).toEqual([device?.cert, device?.chain]);
    expect(readFileSync(device?.key ?? '', 'utf8')).toBe(keyBefore);
    const newCert = new X509Certificate(readFileSync(device?.cert ?? ''));
    expect(newCert.publicKey.equals(oldCert.publicKey)).toBe(true);
    expect(newCert.serialNumber).not.toBe(oldCert.serialNumber);
  });
});

describe('bootstrapPki refuses unsafe or contradictory state', () => {
  it('refuses invalid ids before writing anything', async () => {
    for (const bad of ['../evil', '', '.hidden', 'a/b', 'x'.repeat(65), 'TRK 1', 'trk:1']) {
      const tmp = makeTempDir();
      try {
        await expectPkiError(bootstrapPki(tmp.dir, { vehicles: [bad], partners: [] }), 'PKI_INVALID_ID');
        await expectPkiError(bootstrapPki(tmp.dir, { vehicles: [], partners: [bad] }), 'PKI_INVALID_ID');
        expect(existsSync(join(tmp.dir, 'pki'))).toBe(false);
      } finally {
        tmp.cleanup();
      }
    }
  });

  it('refuses bad server names before writing anything', async () => {
    const tmp = makeTempDir();
    try {
      for (const serverNames of [['*.example.com'], ['a..b'], ['-x.example'], ['has space']]) {
        await expectPkiError(
          bootstrapPki(tmp.dir, { vehicles: [], partners: [], serverNames }),
          'PKI_INVALID_ARGUMENT',
        );
      }
      await expectPkiError(
        bootstrapPki(tmp.dir, { vehicles: [], partners: [], serverIps: ['300.1.1.1'] }),
        'PKI_INVALID_ARGUMENT',
      );
      await expectPkiError(
        bootstrapPki(tmp.dir, { vehicles: [], partners: [], serverNames: [], serverIps: [] }),
        'PKI_INVALID_ARGUMENT',
      );
      expect(existsSync(join(tmp.dir, 'pki'))).toBe(false);
    } finally {
      tmp.cleanup();
    }
  });

  it('a certificate whose key is gone is a conflict, and no key is generated under it', async () => {
    const tmp = makeTempDir();
    try {
      const m = await bootstrapPki(tmp.dir, { vehicles: ['V1'], partners: [] });
      rmSync(m.vehicles.V1?.key ?? '');
      const before = snapshot(m.dir);
      await expectPkiError(bootstrapPki(tmp.dir, { vehicles: ['V1'], partners: [] }), 'PKI_STATE_CONFLICT');
      expect(snapshot(m.dir)).toEqual(before);
    } finally {
      tmp.cleanup();
    }
  });

  it('a key file readable by group or others is refused', async () => {
    const tmp = makeTempDir();
    try {
      const m = await bootstrapPki(tmp.dir, { vehicles: [], partners: [] });
      chmodSync(m.intermediate.key, 0o640);
      await expectPkiError(bootstrapPki(tmp.dir, { vehicles: [], partners: [] }), 'PKI_INSECURE_KEY_FILE');
    } finally {
      tmp.cleanup();
    }
  });

  it('a key path that is a symlink is refused, even to a 0600 key', async () => {
    const tmp = makeTempDir();
    try {
      const m = await bootstrapPki(tmp.dir, { vehicles: ['V1'], partners: [] });
      const key = m.vehicles.V1?.key ?? '';
      const moved = join(tmp.dir, 'elsewhere.pem');
      renameSync(key, moved);
      symlinkSync(moved, key);
      await expectPkiError(
        bootstrapPki(tmp.dir, { vehicles: ['V1'], partners: [] }),
        'PKI_INSECURE_KEY_FILE',
      );
    } finally {
      tmp.cleanup();
    }
  });

  it('sets modes explicitly, whatever the umask', async () => {
    for (const umask of [0o077, 0o000]) {
      const tmp = makeTempDir();
      const previous = process.umask(umask);
      try {
        const m = await bootstrapPki(tmp.dir, { vehicles: ['V1'], partners: [] });
        const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
        expect([mode(m.caBundle), mode(m.vehicles.V1?.cert ?? ''), mode(m.vehicles.V1?.key ?? '')]).toEqual([
          '644',
          '644',
          '600',
        ]);
        expect(mode(m.vehicles.V1?.dir ?? '')).toBe('700');
      } finally {
        process.umask(previous);
        tmp.cleanup();
      }
    }
  });

  it('leaves from a replaced intermediate are a conflict, not silently re-chained', async () => {
    const tmp = makeTempDir();
    try {
      const m = await bootstrapPki(tmp.dir, { vehicles: ['V1'], partners: [] });
      rmSync(m.intermediate.dir, { recursive: true });
      await expectPkiError(bootstrapPki(tmp.dir, { vehicles: ['V1'], partners: [] }), 'PKI_STATE_CONFLICT');
    } finally {
      tmp.cleanup();
    }
  });
});
