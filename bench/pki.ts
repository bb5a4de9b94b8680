/**
 * PKI costs (docs/pki.md "Key custody", "TLS policy"):
 *  - certificate issuance with the encrypted-file key provider — issueDeviceCertificate through a CA
 *    whose key is a CaSigner opened from an encrypted key document (the path enrollment and rotation
 *    take). Limit: raw ECDSA P-256 / SHA-256 signatures per second of the SAME key (node:crypto, one
 *    thread) — the one operation issuance cannot skip, so the ratio is what building, encoding,
 *    delegated signing and the verify-after-build check cost on top.
 *  - full mTLS handshakes per second (TLS 1.3, our suites, a client certificate required and verified,
 *    no resumption) against a listener built with tlsServerOptions in a worker thread, with the client
 *    restricted to X25519MLKEM768, compared with the same handshake restricted to X25519: the ratio is
 *    the price of the hybrid post-quantum key exchange.
 * Each round measures a figure and its limit back to back; rounds alternate the order of the two
 * groups. Prints `BENCH_RESULT {json}` last (bench/lib/result.ts).
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { type TlsMaterial, tlsServerOptions } from '@fleetgate/gateway/http/tls-policy';
import { bootstrapPki } from '@fleetgate/gateway/pki/bootstrap';
import { createSelfSignedCa } from '@fleetgate/gateway/pki/ca';
import { issueDeviceCertificate } from '@fleetgate/gateway/pki/issue';
import { createFileCaKey } from '@fleetgate/gateway/pki/keys/file-provider';
import { formatNumber } from './lib/result.ts';
import { runBenchmark } from './lib/runner.ts';
import { median, rateOfAsync, rateOfSync, roundRatios } from './lib/stats.ts';

const ROUNDS = 3;
const WARMUP_MS = 500;
const ISSUE_MS = 2_000;
const SIGN_MS = 1_000;
const HANDSHAKE_MS = 2_000;
/** Handshakes in flight: enough to keep the server thread busy, few enough not to queue for long. */
const CONCURRENCY = 4;
const GROUPS = ['X25519MLKEM768', 'X25519'] as const;
type Group = (typeof GROUPS)[number];

/** The TBSCertificate inside a certificate's DER: the first element of the outer SEQUENCE. */
function tbsOf(der: Buffer): Buffer {
  const headerLength = (at: number): number => {
    const first = der[at + 1] ?? 0;
    return first & 0x80 ? 2 + (first & 0x7f) : 2;
  };
  const contentLength = (at: number): number => {
    const first = der[at + 1] ?? 0;
    return first & 0x80 ? der.readUIntBE(at + 2, first & 0x7f) : first;
  };
  const start = headerLength(0);
  return der.subarray(start, start + headerLength(start) + contentLength(start));
}

interface ServerSetup {
  material: TlsMaterial;
}

/** Worker side: a TLS 1.3 listener with our policy; each accepted connection gets one byte and ends. */
function serve(setup: ServerSetup): void {
  const server = createServer(tlsServerOptions(setup.material, true), (socket: TLSSocket) => {
    socket.end('k');
  });
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1', () => {
    parentPort?.postMessage({ port: (server.address() as AddressInfo).port });
  });
}

if (!isMainThread) {
  serve(workerData as ServerSetup);
} else {
  await runBenchmark('pki', ROUNDS, async ({ log }) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fleetgate-bench-pki-'));
    const worker: { current?: Worker } = {};
    try {
      // Issuance through the file provider: a key document encrypted with scrypt + AES-256-GCM, the
      // CA's signer opened from it; the raw limit signs with the very same P-256 key.
      const env = { FLEETGATE_BENCH_PASSPHRASE: 'benchmark passphrase, not a secret' };
      const caKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const signer = await createFileCaKey(
        join(dataDir, 'key.json'),
        { passphrase: { env: 'FLEETGATE_BENCH_PASSPHRASE' } },
        { dataDir, env },
        caKey,
      );
      const ca = await createSelfSignedCa({
        commonName: 'bench issuing CA',
        pathLength: 0,
        privateKey: signer,
      });
      const devicePublicKey = generateKeyPairSync('ed25519').publicKey;
      let serial = 0;
      const issue = async (): Promise<unknown> =>
        issueDeviceCertificate(ca, { vehicleId: `BENCH-${serial++}`, publicKey: devicePublicKey });
      // The limit signs exactly what issuance signs: the TBSCertificate of a certificate it issued.
      const sample = await issueDeviceCertificate(ca, {
        vehicleId: 'BENCH-sample',
        publicKey: devicePublicKey,
      });
      const tbs = tbsOf(sample.certificate.raw);
      const rawSign = (): void => {
        sign('sha256', tbs, { key: caKey, dsaEncoding: 'ieee-p1363' });
      };
      await rateOfAsync(issue, WARMUP_MS);
      rateOfSync(rawSign, WARMUP_MS);
      const issues: number[] = [];
      const signs: number[] = [];
      for (let round = 1; round <= ROUNDS; round += 1) {
        issues.push(await rateOfAsync(issue, ISSUE_MS));
        signs.push(rateOfSync(rawSign, SIGN_MS));
        log(
          `round ${round}: issue ${formatNumber(issues.at(-1) as number)} certs/s | raw ECDSA P-256 ${formatNumber(signs.at(-1) as number)} signs/s`,
        );
      }

      // Handshakes: the gateway's own PKI (server and partner certificates), the listener in a worker.
      const manifest = await bootstrapPki(dataDir, { vehicles: [], partners: ['bench-tms'], env: {} });
      const material: TlsMaterial = {
        key: readFileSync(manifest.server.key, 'utf8'),
        cert: readFileSync(manifest.server.chain, 'utf8'),
        ca: readFileSync(manifest.caBundle, 'utf8'),
      };
      const partner = manifest.partners['bench-tms'];
      if (partner === undefined) throw new Error('no partner certificate');
      const client = {
        ca: material.ca,
        cert: readFileSync(partner.chain, 'utf8'),
        key: readFileSync(partner.key, 'utf8'),
      };
      worker.current = new Worker(new URL(import.meta.url), {
        workerData: { material } satisfies ServerSetup,
      });
      const port = await new Promise<number>((resolve, reject) => {
        worker.current?.once('message', (m: { port: number }) => resolve(m.port));
        worker.current?.once('error', reject);
      });

      /** One full mTLS handshake; resolves with the group once the server's byte arrived. */
      const handshake = (group: Group): Promise<string | undefined> =>
        new Promise((resolve, reject) => {
          const socket = connect({
            host: '127.0.0.1',
            port,
            servername: 'localhost',
            ...client,
            ecdhCurve: group,
          });
          let name: string | undefined;
          socket.once('secureConnect', () => {
            name = (socket.getEphemeralKeyInfo() as { name?: string }).name;
          });
          socket.once('data', () => {
            socket.destroy();
            resolve(name);
          });
          socket.once('error', reject);
        });
      const rateOf = async (group: Group, durationMs: number): Promise<number> => {
        const end = performance.now() + durationMs;
        let done = 0;
        const lane = async (): Promise<void> => {
          while (performance.now() < end) {
            await handshake(group);
            done += 1;
          }
        };
        const start = performance.now();
        await Promise.all(Array.from({ length: CONCURRENCY }, lane));
        return done / ((performance.now() - start) / 1000);
      };
      for (const group of GROUPS) {
        const negotiated = await handshake(group);
        if (negotiated !== group) throw new Error(`asked for ${group}, negotiated ${negotiated}`);
        await rateOf(group, WARMUP_MS);
      }
      const hybrid: number[] = [];
      const classic: number[] = [];
      for (let round = 1; round <= ROUNDS; round += 1) {
        const order = round % 2 === 1 ? GROUPS : ([...GROUPS].reverse() as Group[]);
        for (const group of order) {
          (group === 'X25519MLKEM768' ? hybrid : classic).push(await rateOf(group, HANDSHAKE_MS));
        }
        log(
          `round ${round}: X25519MLKEM768 ${formatNumber(hybrid.at(-1) as number)} handshakes/s | X25519 ${formatNumber(classic.at(-1) as number)} handshakes/s`,
        );
      }

      return [
        {
          benchmark: 'certificate issuance, encrypted-file CA key (device profile)',
          figure: { value: median(issues), unit: 'certs/s' },
          limit: { name: 'raw ECDSA P-256 sign, same key, 1 thread', value: median(signs), unit: 'signs/s' },
          ratio: roundRatios(issues, signs),
        },
        {
          benchmark: `full mTLS 1.3 handshakes, X25519MLKEM768 (${CONCURRENCY} in flight)`,
          figure: { value: median(hybrid), unit: 'handshakes/s' },
          limit: { name: 'the same handshake with X25519', value: median(classic), unit: 'handshakes/s' },
          ratio: roundRatios(hybrid, classic),
        },
      ];
    } finally {
      await worker.current?.terminate();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}
