/**
 * The edge SDK's enrollment pieces against the real openssl: the hand-built PKCS#10 request verifies
 * with `openssl req -verify` and names the vehicle in CN and SAN URI; the certs-only PKCS#7 reader reads
 * what `openssl crl2pkcs7` writes and, fuzzed, fails only with EDGE_BAD_RESPONSE; the leaf is chosen by
 * key; credentials are written 0600 in one file and refused when others can read them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCsr, loadDeviceCredentials, orderChain } from '../src/enroll.ts';
import { EdgeError } from '../src/errors.ts';
import { credentialsFrom, saveCredentials } from '../src/internal/credentials.ts';
import { parseCertsOnly } from '../src/internal/est-client.ts';

let dir: string;
const file = (name: string) => join(dir, name);
const openssl = (args: string[], input?: Uint8Array) =>
  spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', ...(input === undefined ? {} : { input }) });

/** A CA and an Ed25519 device certificate for TRK-0042, made by openssl. */
function makeChain(): { caPem: string; leafPem: string; keyPem: string } {
  const run = (args: string) => execFileSync('openssl', args.split(' '), { cwd: dir, stdio: 'pipe' });
  run(
    'req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=ca',
  );
  run('genpkey -algorithm ed25519 -out leaf.key');
  run('req -new -key leaf.key -subj /CN=TRK-0042 -out leaf.csr');
  writeFileSync(
    file('leaf.ext'),
    'subjectAltName=URI:urn:fleetgate:vehicle:TRK-0042\nextendedKeyUsage=clientAuth\n',
  );
  run(
    'x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 0x1234 -days 1 -extfile leaf.ext -out leaf.pem',
  );
  return {
    caPem: readFileSync(file('ca.pem'), 'utf8'),
    leafPem: readFileSync(file('leaf.pem'), 'utf8'),
    keyPem: readFileSync(file('leaf.key'), 'utf8'),
  };
}

let chain: ReturnType<typeof makeChain>;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleetgate-edge-enroll-'));
  chain = makeChain();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('buildCsr', () => {
  it('builds a request that openssl verifies and reads as CN + SAN URI over an Ed25519 key', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const der = buildCsr(privateKey, 'TRK-0042');
    const verified = openssl(['req', '-inform', 'DER', '-verify', '-noout', '-text'], der);
    expect(verified.status).toBe(0);
    expect(`${verified.stdout}${verified.stderr}`).toMatch(
      /verify OK|Certificate request self-signature verify OK/,
    );
    expect(verified.stdout).toMatch(/Subject: CN\s?=\s?TRK-0042/);
    expect(verified.stdout).toContain('URI:urn:fleetgate:vehicle:TRK-0042');
    expect(verified.stdout).toContain('ED25519');
  });

  it('verifies with openssl for any valid vehicle id (property)', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
    fc.assert(
      fc.property(id, (vehicleId) => {
        const r = openssl(
          ['req', '-inform', 'DER', '-verify', '-noout', '-subject'],
          buildCsr(privateKey, vehicleId),
        );
        return r.status === 0 && r.stdout.includes(vehicleId);
      }),
      { numRuns: 15 },
    );
  });

  it('refuses other keys and ids outside the vehicle alphabet', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    expect(() => buildCsr(ec, 'TRK-1')).toThrow(expect.objectContaining({ code: 'EDGE_INVALID_KEY' }));
    const { privateKey } = generateKeyPairSync('ed25519');
    for (const id of ['', '../x', 'a b', 'x'.repeat(65), 'urn:fleetgate:vehicle:x']) {
      expect(() => buildCsr(privateKey, id)).toThrow(
        expect.objectContaining({ code: 'EDGE_INVALID_ARGUMENT' }),
      );
    }
  });
});

describe('parseCertsOnly', () => {
  let p7: Uint8Array;
  beforeAll(() => {
    writeFileSync(file('bundle.pem'), chain.leafPem + chain.caPem);
    execFileSync(
      'openssl',
      ['crl2pkcs7', '-nocrl', '-certfile', 'bundle.pem', '-outform', 'DER', '-out', 'b.p7'],
      {
        cwd: dir,
      },
    );
    p7 = new Uint8Array(readFileSync(file('b.p7')));
  });

  it('reads the certificates openssl put in a certs-only PKCS#7, and orders the leaf first by key', () => {
    const certs = parseCertsOnly(p7);
    expect(certs.map((c) => c.fingerprint256).sort()).toEqual(
      [chain.leafPem, chain.caPem].map((p) => new X509Certificate(p).fingerprint256).sort(),
    );
    const ordered = orderChain([...certs].reverse(), createPrivateKey(chain.keyPem));
    // The leaf first; a self-signed root is a trust anchor, never part of the presented chain.
    expect(ordered.map((c) => c.subject)).toEqual(['CN=TRK-0042']);
    expect(() => orderChain(certs, generateKeyPairSync('ed25519').privateKey)).toThrow(
      expect.objectContaining({ code: 'EDGE_BAD_RESPONSE' }),
    );
  });

  it('fails only with EDGE_BAD_RESPONSE on flipped bits, truncation and garbage (fuzz)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(fc.nat(p7.byteLength * 8 - 1)).map(([bit]) => {
            const copy = Uint8Array.from(p7);
            copy[bit >> 3] = (copy[bit >> 3] ?? 0) ^ (1 << (bit & 7));
            return copy;
          }),
          fc.nat(p7.byteLength - 1).map((n) => p7.subarray(0, n)),
          fc.uint8Array({ maxLength: 512 }),
        ),
        (bytes) => {
          try {
            parseCertsOnly(bytes);
          } catch (error) {
            return error instanceof EdgeError && error.code === 'EDGE_BAD_RESPONSE';
          }
          return true;
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('device credentials on disk', () => {
  it('writes key and chain in one 0600 file and reads them back', async () => {
    const creds = credentialsFrom('TRK-0042', chain.keyPem, [
      new X509Certificate(chain.leafPem),
      new X509Certificate(chain.caPem),
    ]);
    const home = join(dir, 'device');
    await saveCredentials(home, creds);
    expect(statSync(join(home, 'device.pem')).mode & 0o777).toBe(0o600);
    const loaded = await loadDeviceCredentials(home, 'TRK-0042');
    expect(loaded?.serialNumber).toBe('1234');
    expect(loaded?.keyId).toBe(creds.keyId);
    expect(loaded?.chainPem).toBe(creds.chainPem);
    expect(await loadDeviceCredentials(join(dir, 'nobody'), 'TRK-0042')).toBeUndefined();
    chmodSync(join(home, 'device.pem'), 0o644);
    await expect(loadDeviceCredentials(home, 'TRK-0042')).rejects.toMatchObject({
      code: 'EDGE_CREDENTIALS_IO',
    });
  });

  it('refuses a chain whose leaf does not certify the key', () => {
    const other = generateKeyPairSync('ed25519')
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    expect(() => credentialsFrom('TRK-0042', other, [new X509Certificate(chain.leafPem)])).toThrow(
      expect.objectContaining({ code: 'EDGE_INVALID_KEY' }),
    );
  });
});
