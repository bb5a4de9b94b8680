/**
 * Control-plane requests per second with authorization (issue 4): GET /v1/tenders/{id} for a stored
 * tender, over mTLS with the partner certificate (HTTP/1.1 keep-alive, one request in flight per
 * connection), with
 *   - a certificate-bound token (RFC 8705): signature, claims, `cnf.x5t#S256` against the connection's
 *     certificate, client status and jti revocation (≤ 1 s cache), scope;
 *   - a DPoP-bound token (RFC 9449): all of that plus a fresh ES256 proof per request (made by the client)
 *     checked fully — signature, htm/htu, iat, nonce, ath, jkt — and its jti recorded in the store's
 *     replay table (one INSERT per request).
 * Tokens come from the gateway's own token endpoint; the client is the simulated TMS's token source
 * (packages/sim/src/partner-token.ts), so the proofs are what a partner sends.
 *
 * Limit, measured in the same process in each round, right next to the figures: the same route — the same
 * control-plane route code, on the same store, for the same tender — on a listener built like the control
 * plane (the gateway's TLS 1.3 mTLS policy and certificates) but with an authorization hook that only
 * hands the route a fixed context. The ratio is the share of the unauthorized rate that authorization
 * keeps. The load client runs in a worker thread (its own core), as in the other benchmarks.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { AuthContext } from '@fleetgate/gateway/auth/resource/authorize';
import { GatewayEvents } from '@fleetgate/gateway/events';
import { tlsServerOptions } from '@fleetgate/gateway/http/tls-policy';
import { type ControlPlaneAuth, registerControlPlaneRoutes } from '@fleetgate/gateway/routes/control-plane';
import { type Exchange, PartnerTokenSource, type TokenBinding } from '@fleetgate/sim/partner-token';
import { randomTender, TmsClient } from '@fleetgate/sim/tms';
import Fastify, { type FastifyInstance } from 'fastify';
import { Client } from 'undici';
import { startBenchGateway } from './lib/fixture.ts';
import { formatMs, formatNumber } from './lib/result.ts';
import { runBenchmark } from './lib/runner.ts';
import { concatSamples, LatencyWindow, median, roundRatios, summarizeLatencies } from './lib/stats.ts';

const PARTNER = { id: 'bench-tms', tenant: 'bench' };
const CONNECTIONS = 4;
const ROUNDS = 3;
const WARMUP_MS = 500;
const PHASE_MS = 3_000;

type Mode = 'none' | TokenBinding;

interface WorkerSetup {
  ca: string;
  cert: string;
  key: string;
  /** The gateway's control plane, where tokens come from. */
  tokenOrigin: string;
}

interface Phase {
  origin: string;
  path: string;
  mode: Mode;
  warmupMs: number;
  durationMs: number;
}

interface PhaseReply {
  count: number;
  rate: number;
  latencies: Float64Array;
  elu: number;
  error?: string;
}

// ---- load client (worker thread) -------------------------------------------------------------------

async function workerMain(setup: WorkerSetup): Promise<void> {
  const clients = new Map<string, Client[]>();
  const connect = { ca: setup.ca, cert: setup.cert, key: setup.key, minVersion: 'TLSv1.3' as const };
  const clientsFor = (origin: string): Client[] => {
    let list = clients.get(origin);
    if (list === undefined) {
      list = Array.from(
        { length: CONNECTIONS },
        () => new Client(origin, { connect, pipelining: 1, keepAliveTimeout: 60_000 }),
      );
      clients.set(origin, list);
    }
    return list;
  };
  const tokenClient = new Client(setup.tokenOrigin, { connect, pipelining: 1 });
  const exchange: Exchange = async (method, path, headers, body) => {
    const res = await tokenClient.request({
      method: method as 'POST',
      path,
      headers,
      ...(body ? { body } : {}),
    });
    return {
      status: res.statusCode,
      headers: res.headers as Record<string, string | string[] | undefined>,
      body: (await res.body.json()) as Record<string, unknown>,
    };
  };
  const run = async (phase: Phase): Promise<PhaseReply> => {
    // A token per phase (a new DPoP key for DPoP); proofs name the resource server's origin.
    const tokens =
      phase.mode === 'none'
        ? undefined
        : new PartnerTokenSource({
            origin: phase.origin,
            clientId: PARTNER.id,
            scope: 'tenders:read',
            binding: phase.mode as TokenBinding,
            exchange,
          });
    const start = performance.now();
    const window = new LatencyWindow(start + phase.warmupMs, start + phase.warmupMs + phase.durationMs);
    const stopAt = start + phase.warmupMs + phase.durationMs;
    let error: string | undefined;
    const elu0 = performance.eventLoopUtilization();
    await Promise.all(
      clientsFor(phase.origin).map(async (client) => {
        while (performance.now() < stopAt && error === undefined) {
          const t0 = performance.now();
          const headers = tokens === undefined ? {} : await tokens.headersFor('GET', phase.path);
          const res = await client.request({ method: 'GET', path: phase.path, headers });
          tokens?.observe(res.headers as Record<string, string | string[] | undefined>);
          if (res.statusCode !== 200) {
            error = `${res.statusCode} ${(await res.body.text()).slice(0, 300)}`;
            return;
          }
          await res.body.dump();
          window.record(t0, performance.now());
        }
      }),
    );
    const elu = performance.eventLoopUtilization(elu0).utilization;
    return {
      count: window.count,
      rate: window.rate(),
      latencies: window.latencies(),
      elu,
      ...(error === undefined ? {} : { error }),
    };
  };

  parentPort?.on('message', (message: Phase | 'close') => {
    if (message === 'close') {
      void Promise.allSettled([tokenClient, ...[...clients.values()].flat()].map((c) => c.close())).then(() =>
        parentPort?.close(),
      );
      return;
    }
    run(message).then(
      (reply) => parentPort?.postMessage(reply, [reply.latencies.buffer as ArrayBuffer]),
      (e: unknown) =>
        parentPort?.postMessage({
          count: 0,
          rate: 0,
          latencies: new Float64Array(),
          elu: 0,
          error: String(e),
        }),
    );
  });
}

// ---- benchmark (main thread) -----------------------------------------------------------------------

/** The unauthorized limit: the same route code on a listener like the control plane, a fixed context. */
async function startUnauthorized(
  gw: Awaited<ReturnType<typeof startBenchGateway>>,
): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ https: tlsServerOptions(gw.serverTls, true) }) as unknown as FastifyInstance;
  const context: AuthContext = {
    clientId: PARTNER.id,
    tenant: PARTNER.tenant,
    scopes: ['tenders:read'],
    binding: 'mtls',
    policy: {},
    certSha256: '00'.repeat(32),
    tokenId: 'none',
    issuer: 'none',
  };
  const none: ControlPlaneAuth = { hook: () => async () => undefined, contextOf: () => context };
  const { store, audit, config } = gw.gateway;
  registerControlPlaneRoutes(
    app as never,
    { store, audit, config, now: () => new Date() },
    none,
    new GatewayEvents(),
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { url: `https://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
}

async function benchMain(): Promise<void> {
  await runBenchmark('control-plane-auth', ROUNDS, async ({ log }) => {
    const gw = await startBenchGateway({ vehicles: ['BENCH-TRK-001'], partners: [PARTNER] });
    const creds = gw.partner(PARTNER.id);
    const unauthorized = await startUnauthorized(gw);
    const worker = new Worker(new URL(import.meta.url), {
      workerData: {
        ca: gw.ca,
        cert: creds.chain,
        key: creds.key,
        tokenOrigin: gw.url.control,
      } satisfies WorkerSetup,
    });
    worker.unref();
    const phase = (p: Omit<Phase, 'warmupMs'>, warmupMs = WARMUP_MS) =>
      new Promise<PhaseReply & { serverElu: number }>((resolve, reject) => {
        const elu0 = performance.eventLoopUtilization();
        worker.once('message', (reply: PhaseReply) => {
          const serverElu = performance.eventLoopUtilization(elu0).utilization;
          if (reply.error !== undefined) reject(new Error(`${p.mode} ${p.origin}${p.path}: ${reply.error}`));
          else if (reply.count === 0) reject(new Error(`${p.mode}: no request completed in the window`));
          else resolve({ ...reply, serverElu });
        });
        worker.postMessage({ ...p, warmupMs } satisfies Phase);
      });
    try {
      // One stored tender to read, created through the real API with a certificate-bound token.
      const tms = new TmsClient(
        gw.url.control,
        { cert: creds.chain, key: creds.key, ca: gw.ca },
        { binding: 'mtls' },
      );
      const created = await tms.postTender(
        randomTender(Math.random, new Date(), 1, `BENCH-${randomBytes(4).toString('hex')}`),
      );
      tms.close();
      if (created.status !== 201)
        throw new Error(`could not create the tender: ${JSON.stringify(created.body)}`);
      const path = `/v1/tenders/${created.body.id as string}`;
      const phases = {
        none: { origin: unauthorized.url, path, mode: 'none' as const },
        mtls: { origin: gw.url.control, path, mode: 'mtls' as const },
        dpop: { origin: gw.url.control, path, mode: 'dpop' as const },
      };
      for (const p of Object.values(phases)) await phase({ ...p, durationMs: WARMUP_MS }, 0); // JIT, connections, tokens
      const results = { none: [] as PhaseReply[], mtls: [] as PhaseReply[], dpop: [] as PhaseReply[] };
      for (let round = 1; round <= ROUNDS; round += 1) {
        for (const mode of ['none', 'mtls', 'dpop'] as const) {
          results[mode].push(await phase({ ...phases[mode], durationMs: PHASE_MS }));
        }
        const line = (['none', 'mtls', 'dpop'] as const)
          .map((m) => {
            const r = results[m].at(-1) as PhaseReply;
            return `${m === 'none' ? 'no authorization' : m} ${formatNumber(r.rate)}/s p50 ${formatMs(summarizeLatencies(r.latencies).p50)}`;
          })
          .join(' | ');
        log(`round ${round}: ${line}`);
      }
      const limitRates = results.none.map((r) => r.rate);
      const limitLatency = summarizeLatencies(concatSamples(results.none.map((r) => r.latencies)));
      const limit = {
        name: 'the same route without authorization, same TLS 1.3 mTLS listener and store',
        value: median(limitRates),
        unit: 'req/s',
        detail: `p50 ${formatMs(limitLatency.p50)}, p99 ${formatMs(limitLatency.p99)}`,
      };
      return (['mtls', 'dpop'] as const).map((mode) => {
        const rates = results[mode].map((r) => r.rate);
        const latency = summarizeLatencies(concatSamples(results[mode].map((r) => r.latencies)));
        return {
          benchmark: `GET /v1/tenders/{id} with a ${mode === 'mtls' ? 'certificate-bound (RFC 8705)' : 'DPoP-bound (RFC 9449)'} token (${CONNECTIONS} connections, PGlite)`,
          figure: {
            value: median(rates),
            unit: 'req/s',
            detail: `p50 ${formatMs(latency.p50)}, p99 ${formatMs(latency.p99)}, client ELU ${median(results[mode].map((r) => r.elu)).toFixed(2)}`,
          },
          limit,
          ratio: roundRatios(rates, limitRates),
        };
      });
    } finally {
      worker.postMessage('close');
      await unauthorized.close();
      await gw.stop();
    }
  });
}

if (isMainThread) await benchMain();
else await workerMain(workerData as WorkerSetup);
