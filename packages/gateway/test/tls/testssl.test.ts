/**
 * testssl.sh (Debian's 3.0.8) against each TLS listener of a real gateway, findings read from its
 * --jsonfile: only TLS 1.3 offered (no SSLv2/SSLv3, TLS 1.0, 1.1 or 1.2); exactly the three AEAD suites;
 * renegotiation and CRIME (compression) not applicable; forward secrecy with the expected groups; the
 * server certificate ECDSA P-256 / SHA-256. Options keep each listener well under a minute:
 * `-p -E -R -C -f -S --ip 127.0.0.1`.
 *
 * What testssl can and cannot see here: it drives the system OpenSSL (3.0 on Debian 12), which does not
 * know the hybrid group X25519MLKEM768, so its "ECDHE curves" list shows only prime256v1 and X25519 —
 * the hybrid preference is asserted with a Node 24 client instead (getEphemeralKeyInfo). It does not
 * trust our private CA, so its chain-of-trust finding is expected to fail, and our certificates carry
 * no CRL/OCSP URL (revocation is served on the public listener), which it flags. On the listeners that
 * require a client certificate it sees no session ticket (the handshake ends at the certificate
 * request); ticket rotation is tested with Node clients in policy.test.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { tlsExchange } from './clients.ts';

interface Finding {
  id: string;
  severity: string;
  finding: string;
}

const TESTSSL = ['testssl', 'testssl.sh'].find((bin) => spawnSync('which', [bin]).status === 0);
if (TESTSSL === undefined)
  console.warn('[skip] testssl.sh tests: testssl is not installed (apt-get install testssl.sh)');

const LISTENERS = ['controlPlane', 'telemetry', 'public'] as const;

/** Findings testssl reports here by design, with the reason; anything else at MEDIUM or above fails. */
const EXPECTED_SEVERE: Record<string, string> = {
  cert_chain_of_trust: 'our private root is not in testssl’s trust store',
  cert_revocation: 'no CRL/OCSP URL in the certificate; revocation is served on the public listener',
};

function runTestssl(port: number, jsonfile: string): Promise<Finding[]> {
  return new Promise((resolve, reject) => {
    const args = [
      '--quiet',
      '--warnings',
      'off',
      '--color',
      '0',
      '--connect-timeout',
      '10',
      '--openssl-timeout',
      '10',
      '-p',
      '-E',
      '-R',
      '-C',
      '-f',
      '-S',
      '--ip',
      '127.0.0.1',
      '--jsonfile',
      jsonfile,
      `localhost:${port}`,
    ];
    const child = spawn(TESTSSL as string, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(JSON.parse(readFileSync(jsonfile, 'utf8')) as Finding[]);
      } catch (error) {
        reject(new Error(`testssl wrote no JSON findings: ${(error as Error).message}\n${out.slice(-2000)}`));
      }
    });
  });
}

for (const engine of engines()) {
  describe.skipIf(TESTSSL === undefined)(`testssl.sh against every TLS listener on ${engine.name}`, () => {
    let t: TestGateway;
    beforeAll(async () => {
      t = await startTestGateway(engine);
    });
    afterAll(async () => {
      await t?.stop();
    });

    for (const name of LISTENERS) {
      it(`${name}: TLS 1.3 only, three AEAD suites, no renegotiation or compression`, async () => {
        const findings = await runTestssl(
          t.gateway.addresses[name].port,
          join(t.dataDir, `testssl-${name}.json`),
        );
        const by = (id: string): Finding | undefined => findings.find((f) => f.id === id);
        const text = (id: string): string => by(id)?.finding ?? `<no ${id} finding>`;

        for (const old of ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1', 'TLS1_2']) {
          expect([old, text(old)]).toEqual([old, 'not offered']);
        }
        expect(text('TLS1_3')).toMatch(/^offered/);

        const suites = findings.filter((f) => f.id.startsWith('cipher-')).map((f) => f.id);
        expect(suites.sort()).toEqual(['cipher-tls1_3_x1301', 'cipher-tls1_3_x1302', 'cipher-tls1_3_x1303']);
        expect(text('cipher-tls1_3_x1302')).toContain('TLS_AES_256_GCM_SHA384');
        expect(text('cipher-tls1_3_x1303')).toContain('TLS_CHACHA20_POLY1305_SHA256');
        expect(text('cipher-tls1_3_x1301')).toContain('TLS_AES_128_GCM_SHA256');

        for (const id of ['secure_renego', 'secure_client_renego', 'CRIME_TLS']) {
          expect([id, by(id)?.severity]).toEqual([id, 'OK']);
        }
        expect(text('secure_renego')).toContain('TLS 1.3 only');
        expect(text('CRIME_TLS')).toContain('TLS 1.3 only');

        // What testssl's OpenSSL 3.0 can see of our groups: X25519 and P-256; the hybrid is checked below.
        expect(text('PFS_ECDHE_curves').split(/\s+/).sort()).toEqual(['X25519', 'prime256v1']);
        expect(text('cert_keySize')).toBe('EC 256 bits');
        expect(text('cert_signatureAlgorithm')).toBe('ECDSA with SHA256');

        const severe = findings.filter(
          (f) => ['MEDIUM', 'HIGH', 'CRITICAL'].includes(f.severity) && EXPECTED_SEVERE[f.id] === undefined,
        );
        expect(severe).toEqual([]);

        // The X25519MLKEM768 preference, seen by a client that knows the group (Node 24, OpenSSL 3.5).
        const partner = t.partner('acme-tms');
        const vehicle = t.vehicle('TRK-001');
        const identity =
          name === 'telemetry'
            ? { cert: vehicle.chain, key: vehicle.key, ca: vehicle.ca }
            : name === 'controlPlane'
              ? { cert: partner.chain, key: partner.key, ca: partner.ca }
              : { ca: partner.ca };
        const hybrid = await tlsExchange(t.gateway.addresses[name].port, identity, {
          ecdhCurve: 'X25519MLKEM768:X25519:P-256',
        });
        expect(hybrid.group).toBe('X25519MLKEM768');
        expect((await tlsExchange(t.gateway.addresses[name].port, identity)).group).toBe('X25519MLKEM768');
      }, 180_000);
    }
  });
}
