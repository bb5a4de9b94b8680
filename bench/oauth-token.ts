/**
 * Access tokens issued per second by the authorization server (issue 4): POST /oauth/token,
 * client_credentials with tls_client_auth over mTLS (the partner certificate; HTTP/1.1 keep-alive, one
 * request in flight per connection), each answer a certificate-bound RFC 9068 JWT signed ES256, its jti
 * recorded in oauth_tokens and its `auth.token.issued` entry sequenced in the audit log in the same
 * transaction, on a real gateway with embedded PGlite. The token-endpoint rate limits are raised for the
 * run (they are checked on every request but never refuse): the figure is the issuance path, not the
 * limiter's configured rate. Reported: tokens/s, p50/p99 latency.
 *
 * Limit, measured in the same process in each round, right next to the figure: raw ES256 signatures per
 * second — node:crypto sign over a token-sized input with the same reused P-256 KeyObject kind — the one
 * cryptographic operation every token needs. The ratio is the share of that ceiling the whole endpoint
 * (TLS, HTTP, client lookup, limits, store, audit) keeps. The load client runs in a worker thread (its own
 * core), as in the other benchmarks.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { defaultConfig } from '@fleetgate/gateway/config';
import { startGateway } from '@fleetgate/gateway/gateway';
import { bootstrapPki } from '@fleetgate/gateway/pki/bootstrap';
import pino from 'pino';
import { Client } from 'undici';
import { formatMs, formatNumber } from './lib/result.ts';
import { runBenchmark } from './lib/runner.ts';
import {
  concatSamples,
  LatencyWindow,
  median,
  rateOfSync,
  roundRatios,
  summarizeLatencies,
} from './lib/stats.ts';

const PARTNERS = Array.from({ length: 4 }, (_, i) => ({ id: `bench-tms-${i + 1}`, tenant: 'bench' }));
const ROUNDS = 3;
const WARMUP_MS = 500;
const PHASE_MS = 3_000;
const SIGN_MS = 700;

interface WorkerSetup {
  ca: string;
  origin: string;
  connections: Array<{ clientId: string; cert: string; key: string }>;
}

interface PhaseReply {
  count: number;
  rate: number;
  latencies: Float64Array;
  errors: Record<string, number>;
  firstError?: string;
}

/** Worker: one undici Client per partner connection, a closed loop of token requests. */
async function workerMain(setup: WorkerSetup): Promise<void> {
  const clients = setup.connections.map((c) => ({
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: c.clientId }).toString(),
    client: new Client(setup.origin, {
      connect: { ca: setup.ca, cert: c.cert, key: c.key, minVersion: 'TLSv1.3', servername: 'localhost' },
      pipelining: 1,
      keepAliveTimeout: 60_000,
    }),
  }));
  parentPort?.on(
    'message',
    async (msg: { type: 'run'; warmupMs: number; durationMs: number } | { type: 'close' }) => {
      if (msg.type === 'close') {
        await Promise.allSettled(clients.map((c) => c.client.close()));
        parentPort?.close();
        return;
      }
      const start = performance.now();
      const window = new LatencyWindow(start + msg.warmupMs, start + msg.warmupMs + msg.durationMs);
      const stopAt = start + msg.warmupMs + msg.durationMs;
      const errors: Record<string, number> = {};
      let firstError: string | undefined;
      await Promise.all(
        clients.map(async ({ client, body }) => {
          while (performance.now() < stopAt) {
            const t0 = performance.now();
            try {
              const res = await client.request({
                path: '/oauth/token',
                method: 'POST',
                headers: { 'content-type': 'application/x-www-form-urlencoded' },
                body,
              });
              const text = await res.body.text();
              if (res.statusCode === 200 && text.includes('"access_token"'))
                window.record(t0, performance.now());
              else {
                errors[res.statusCode] = (errors[res.statusCode] ?? 0) + 1;
                firstError ??= `${res.statusCode} ${text.slice(0, 200)}`;
              }
            } catch (error) {
              const e = error as Error & { code?: string };
              errors[e.code ?? e.name] = (errors[e.code ?? e.name] ?? 0) + 1;
              firstError ??= e.message;
              return;
            }
          }
        }),
      );
      const latencies = window.latencies();
      const reply: PhaseReply = {
        count: window.count,
        rate: window.rate(),
        latencies,
        errors,
        ...(firstError === undefined ? {} : { firstError }),
      };
      parentPort?.postMessage(reply, [latencies.buffer as ArrayBuffer]);
    },
  );
}

function phase(worker: Worker, durationMs: number, warmupMs = WARMUP_MS): Promise<PhaseReply> {
  return new Promise((resolve, reject) => {
    worker.once('message', (reply: PhaseReply) => {
      if (Object.keys(reply.errors).length > 0) {
        reject(new Error(`unexpected outcomes ${JSON.stringify(reply.errors)}; first: ${reply.firstError}`));
      } else if (reply.count === 0) reject(new Error('no token issued in the window'));
      else resolve(reply);
    });
    worker.postMessage({ type: 'run', warmupMs, durationMs });
  });
}

if (!isMainThread) {
  await workerMain(workerData as WorkerSetup);
} else {
  await runBenchmark('oauth-token', ROUNDS, async ({ log }) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fleetgate-bench-oauth-'));
    const config = defaultConfig();
    for (const l of Object.values(config.listeners)) {
      l.host = '127.0.0.1';
      l.port = 0;
    }
    config.partners = PARTNERS;
    config.fleet.vehicles = ['BENCH-TRK-001'];
    config.auth.rateLimits = {
      perClient: { burst: 1_000_000, perSecond: 1_000_000 },
      perAddress: { burst: 1_000_000, perSecond: 1_000_000 },
    };
    const manifest = await bootstrapPki(dataDir, {
      vehicles: config.fleet.vehicles,
      partners: PARTNERS.map((p) => p.id),
    });
    const logger = pino({ level: config.log.level }, pino.destination({ dest: '/dev/null', sync: true }));
    const gateway = await startGateway({ dataDir, config, logger });
    const read = (path: string): string => readFileSync(path, 'utf8');
    const ca = read(manifest.caBundle);
    const setup: WorkerSetup = {
      ca,
      origin: `https://127.0.0.1:${gateway.addresses.controlPlane.port}`,
      connections: PARTNERS.map((p) => {
        const paths = manifest.partners[p.id];
        if (paths === undefined) throw new Error(`no credentials for ${p.id}`);
        return { clientId: p.id, cert: read(paths.chain), key: read(paths.key) };
      }),
    };
    const worker = new Worker(new URL(import.meta.url), { workerData: setup });
    worker.unref();
    // The raw operation: an ES256 signature over an input the size of a token's header.claims.
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const input = Buffer.alloc(560, 0x61);
    const rawSign = () => {
      sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    };
    try {
      await phase(worker, WARMUP_MS, 0);
      rateOfSync(rawSign, WARMUP_MS / 2);
      const tokens: PhaseReply[] = [];
      const signs: number[] = [];
      for (let round = 1; round <= ROUNDS; round += 1) {
        const t = await phase(worker, PHASE_MS);
        const s = rateOfSync(rawSign, SIGN_MS);
        tokens.push(t);
        signs.push(s);
        log(
          `round ${round}: tokens ${formatNumber(t.rate)}/s, p50 ${formatMs(summarizeLatencies(t.latencies).p50)} | ` +
            `raw ES256 ${formatNumber(s)} signatures/s`,
        );
      }
      const [issued] = await gateway.store.query<{ n: string }>(
        'SELECT count(*)::int8 AS n FROM oauth_tokens',
      );
      log(`token records: ${issued?.n}`);
      const rates = tokens.map((p) => p.rate);
      const latency = summarizeLatencies(concatSamples(tokens.map((p) => p.latencies)));
      return [
        {
          benchmark: `token issuance (client_credentials, tls_client_auth, ${PARTNERS.length} connections, PGlite)`,
          figure: {
            value: median(rates),
            unit: 'tokens/s',
            detail: `p50 ${formatMs(latency.p50)}, p99 ${formatMs(latency.p99)}`,
          },
          limit: {
            name: 'raw ES256 signatures (node:crypto, reused key)',
            value: median(signs),
            unit: 'signatures/s',
          },
          ratio: roundRatios(rates, signs),
        },
      ];
    } finally {
      worker.postMessage({ type: 'close' });
      await gateway.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}
