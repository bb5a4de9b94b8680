/**
 * The X.509 corpus of Debian's python3-cryptography-vectors (x509/, x509/custom/, ed25519/, ed448/ —
 * PKITS has its own suite): unusual and deliberately malformed certificates and CRLs. Each one, as a
 * chain, as its own trust anchor, and as a CRL, must give a coded result and never throw; the known-bad
 * ones must be PATH_MALFORMED (or, as anchors, PATH_INVALID_INPUT) and the well-formed ones must parse.
 * Skipped with a message when the package is absent; fails when it finds nothing to run.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crlRevocationChecker } from '../../../src/pki/path/crl-revocation.ts';
import { parseCrl } from '../../../src/pki/path/internal/parse-crl.ts';
import { PATH_CODES, type PathResult } from '../../../src/pki/path/types.ts';
import { validatePath } from '../../../src/pki/path/validate.ts';
import { hierarchy, NOW } from './support.ts';

const X509_DIR =
  process.env.FLEETGATE_X509_VECTORS_DIR ?? '/usr/lib/python3/dist-packages/cryptography_vectors/x509';

interface Item {
  readonly file: string;
  readonly label: string;
  readonly der: Uint8Array;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'PKITS_data' ? [] : files(path);
    return /\.(pem|der|crt|crl)$/.test(name) ? [path] : [];
  });
}

/** Every PEM block in a file, or the whole file as DER when it has none. */
function load(): Item[] {
  return files(X509_DIR).flatMap((path) => {
    const raw = readFileSync(path);
    const file = relative(X509_DIR, path);
    const blocks = [
      ...raw.toString('latin1').matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g),
    ];
    if (blocks.length === 0) return [{ file, label: 'DER', der: new Uint8Array(raw) }];
    return blocks.map((m) => ({
      file,
      label: m[1] ?? '',
      der: new Uint8Array(Buffer.from((m[2] ?? '').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64')),
    }));
  });
}

function isCoded(result: PathResult): boolean {
  return (
    result.ok ||
    (PATH_CODES.includes(result.code) && Number.isInteger(result.position) && result.detail.length > 0)
  );
}

/** Malformed on purpose (per their names in the cryptography test suite), each for a reason we check. */
const MALFORMED_CERTIFICATES = [
  'badasn1time.pem',
  'custom/inhibit_any_policy_negative.pem',
  'custom/invalid_utf8_common_name.pem',
  'custom/invalid_version.pem',
  'custom/nc_invalid_ip4_netmask.der',
  'custom/nc_invalid_ip_netmask.pem',
  'custom/nc_ip_invalid_length.pem',
  'custom/two_basic_constraints.pem',
];
const MALFORMED_CRLS = [
  'custom/crl_bad_version.pem',
  'custom/crl_dup_entry_ext.pem',
  'custom/crl_inval_cert_issuer_entry_ext.pem',
  'custom/crl_invalid_time.der',
];
const WELL_FORMED = [
  'custom/all_supported_names.pem',
  'custom/nc_permitted_excluded_2.pem',
  'custom/negative_serial.pem',
  'custom/rsa_pss_cert.pem',
  'custom/san_other_name.pem',
  'custom/unsupported_extension_critical.pem',
  'ed25519/root-ed25519.pem',
];

const present = existsSync(join(X509_DIR, 'custom'));

if (!present) {
  console.warn(`X.509 corpus skipped: ${X509_DIR} not found (apt-get install python3-cryptography-vectors)`);
  describe('cryptography-vectors X.509 corpus', () => {
    it.skip(`skipped: ${X509_DIR} not found (apt-get install python3-cryptography-vectors)`, () => {});
  });
} else {
  describe('cryptography-vectors X.509 corpus', () => {
    const items = load();
    const byFile = (file: string) => items.filter((i) => i.file === file);

    it('finds the corpus', () => {
      expect(items.length).toBeGreaterThan(100);
      for (const file of [...MALFORMED_CERTIFICATES, ...MALFORMED_CRLS, ...WELL_FORMED]) {
        expect(byFile(file), file).not.toEqual([]);
      }
    });

    it('every item, as a chain and as its own anchor, yields a coded result and never throws', async () => {
      const { root } = await hierarchy();
      for (const item of items) {
        const base = { chain: [item.der], time: NOW, purpose: 'any' as const };
        const asChain = validatePath({ ...base, trustAnchors: [root.der] });
        const asAnchor = validatePath({ ...base, trustAnchors: [item.der] });
        expect(isCoded(asChain) && isCoded(asAnchor), item.file).toBe(true);
        expect(asChain.ok, item.file).toBe(false);
      }
    });

    it('every item, as a CRL, leaves revocation checking coded and never throws', async () => {
      const { root, intermediate } = await hierarchy();
      const check = crlRevocationChecker(items.map((i) => i.der));
      const result = validatePath({
        chain: [intermediate.der],
        trustAnchors: [root.der],
        time: NOW,
        purpose: 'any',
        revocation: check,
      });
      expect(result.ok ? 'ok' : result.code).toBe('PATH_REVOCATION_UNKNOWN');
    });

    it('the known-malformed certificates are PATH_MALFORMED as chains and PATH_INVALID_INPUT as anchors', async () => {
      const { root } = await hierarchy();
      for (const file of MALFORMED_CERTIFICATES) {
        for (const { der } of byFile(file)) {
          const chain = validatePath({ chain: [der], trustAnchors: [root.der], time: NOW, purpose: 'any' });
          const anchor = validatePath({ chain: [der], trustAnchors: [der], time: NOW, purpose: 'any' });
          expect([file, chain.ok || chain.code, anchor.ok || anchor.code]).toEqual([
            file,
            'PATH_MALFORMED',
            'PATH_INVALID_INPUT',
          ]);
        }
      }
    });

    it('the known-malformed CRLs do not parse, and the well-formed certificates do', async () => {
      for (const file of MALFORMED_CRLS) {
        for (const { der } of byFile(file)) expect(() => parseCrl(der), file).toThrow();
      }
      const { root } = await hierarchy();
      for (const file of WELL_FORMED) {
        for (const { der } of byFile(file)) {
          const result = validatePath({ chain: [der], trustAnchors: [root.der], time: NOW, purpose: 'any' });
          expect([file, result.ok || result.code]).toEqual([file, 'PATH_NO_ANCHOR']);
        }
      }
    });
  });
}
