/**
 * Tender creation latency at a fixed rate and the maximum rate (issue 6, bench/tendering): POST /v1/tenders
 * over mTLS with a certificate-bound token (RFC 8705) on every request — TLS 1.3 client-certificate
 * connection, token signature, claims and `cnf.x5t#S256` binding, scope, client policy, decision engine
 * (capacity count under the creation lock), tenant-scoped transaction under row-level security, status
 * history, audit entry — on a real gateway with embedded PGlite.
 *
 *   1. p99 latency at a fixed 200 requests/s, open loop: requests are sent on a fixed schedule whatever
 *      the answers do, and each latency runs from its *scheduled* time (no coordinated omission).
 *   2. the maximum tenders/s: closed loop, 4 keep-alive connections, one request in flight on each.
 *
 * Limit, measured in the same process in each round: a fastify hello-world POST on a listener built like
 * the control plane (same TLS 1.3 mTLS policy and certificates), driven the same two ways by the same client
 * with bodies of the same shape. Ratios: tender p99 / hello p99 at 200/s (lower is better), and tender
 * rate / hello rate. The client runs in a worker thread (its own core), as in the other benchmarks.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Pool } from 'undici';
import { tenderBodies } from './lib/bodies.ts';
import { startBenchGateway } from './lib/fixture.ts';
import { HELLO_PATH, startHelloServer } from './lib/hello.ts';
import { certificateBoundToken } from './lib/oauth-token.ts';
import { formatMs, formatNumber } from './lib/result.ts';
import { runBenchmark } from './lib/runner.ts';
import { median, percentile, roundRatios } from './lib/stats.ts';

const PARTNER = { id: 'bench-tms', tenant: 'bench' };
const FIXED_RATE = 200;
const CONNECTIONS = 4;
const ROUNDS = 3;
const FIXED_MS = 4_000;
const MAX_MS = 3_000;
const WARMUP_MS = 500;

interface Setup {
  ca: string;
  cert: string;
  key: string;
}

interface Phase {
  origin: string;
  path: string;
  token: string | null;
  prefix: string;
  expectStatus: number;
  /** Requests per second on a fixed schedule; null: closed loop, as fast as answers come. */
  rate: number | null;
  durationMs: number;
}

interface PhaseReply {
  count: number;
  rate: number;
  latencies: Float64Array;
  errors: number;
}

// ---- load client (worker thread) ---------------------------------------------------------------------

async function workerMain(setup: Setup): Promise<void> {
  const pools = new Map<string, Pool>();
  const poolOf = (origin: string) => {
    let pool = pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections: CONNECTIONS,
        pipelining: 1,
        keepAliveTimeout: 60_000,
        connect: {
          ca: setup.ca,
          cert: setup.cert,
          key: setup.key,
          servername: 'localhost',
          minVersion: 'TLSv1.3',
        },
      });
      pools.set(origin, pool);
    }
    return pool;
  };
  const run = async (phase: Phase): Promise<PhaseReply> => {
    const pool = poolOf(phase.origin);
    const nextBody = tenderBodies(phase.prefix);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (phase.token !== null) headers.authorization = `Bearer ${phase.token}`;
    const latencies: number[] = [];
    let errors = 0;
    const one = async (scheduled: number) => {
      const res = await pool.request({ method: 'POST', path: phase.path, headers, body: nextBody() });
      await res.body.dump();
      if (res.statusCode !== phase.expectStatus) errors += 1;
      latencies.push(performance.now() - scheduled);
    };
    const start = performance.now();
    const end = start + phase.durationMs;
    if (phase.rate !== null) {
      const interval = 1000 / phase.rate;
      const inFlight: Promise<void>[] = [];
      for (let i = 0; start + i * interval < end; i += 1) {
        const at = start + i * interval;
        const wait = at - performance.now();
        if (wait > 0) await new Promise((done) => setTimeout(done, wait));
        inFlight.push(one(at));
      }
      await Promise.all(inFlight);
    } else {
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (performance.now() < end) await one(performance.now());
        }),
      );
    }
    const elapsed = (performance.now() - start) / 1000;
    return {
      count: latencies.length,
      rate: latencies.length / elapsed,
      latencies: Float64Array.from(latencies),
      errors,
    };
  };
  parentPort?.on('message', (phase: Phase) => {
    run(phase).then(
      (reply) => parentPort?.postMessage(reply),
      (error: unknown) => parentPort?.postMessage({ error: String(error) }),
    );
  });
}

// ---- benchmark (main thread) -------------------------------------------------------------------------

async function benchMain(): Promise<void> {
  await runBenchmark('tender-latency', ROUNDS, async ({ log }) => {
    const gw = await startBenchGateway({ vehicles: ['BENCH-TRK-001'], partners: [PARTNER] });
    // One bench truck would decline every tender after the first for capacity; measure the accept path.
    gw.gateway.config.tenderEngine.fleetSize = 1_000_000_000;
    const hello = await startHelloServer(gw.serverTls, { http2: false });
    const creds = gw.partner(PARTNER.id);
    const token = await certificateBoundToken(
      gw.url.control,
      { chain: creds.chain, key: creds.key, ca: gw.ca },
      PARTNER.id,
      'tenders:write',
    );
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { ca: gw.ca, cert: creds.chain, key: creds.key } satisfies Setup,
    });
    const run = (phase: Omit<Phase, 'prefix'>): Promise<PhaseReply> =>
      new Promise((resolve, reject) => {
        worker.once('message', (reply: PhaseReply | { error: string }) =>
          'error' in reply ? reject(new Error(reply.error)) : resolve(reply),
        );
        worker.postMessage({ ...phase, prefix: `LAT-${randomBytes(4).toString('hex')}` });
      });
    const tender = { origin: gw.url.control, path: '/v1/tenders', token, expectStatus: 201 } as const;
    const plain = { origin: hello.url, path: HELLO_PATH, token: null, expectStatus: 200 } as const;
    try {
      await run({ ...tender, rate: null, durationMs: WARMUP_MS });
      await run({ ...plain, rate: null, durationMs: WARMUP_MS });
      const p99 = { tender: [] as number[], hello: [] as number[] };
      const max = { tender: [] as number[], hello: [] as number[] };
      for (let round = 1; round <= ROUNDS; round += 1) {
        const tf = await run({ ...tender, rate: FIXED_RATE, durationMs: FIXED_MS });
        const hf = await run({ ...plain, rate: FIXED_RATE, durationMs: FIXED_MS });
        const tm = await run({ ...tender, rate: null, durationMs: MAX_MS });
        const hm = await run({ ...plain, rate: null, durationMs: MAX_MS });
        for (const [name, r] of [
          ['tender@200', tf],
          ['hello@200', hf],
          ['tender max', tm],
          ['hello max', hm],
        ] as const) {
          if (r.errors > 0) throw new Error(`${name}: ${r.errors} unexpected answers`);
        }
        p99.tender.push(percentile(tf.latencies, 99));
        p99.hello.push(percentile(hf.latencies, 99));
        max.tender.push(tm.rate);
        max.hello.push(hm.rate);
        log(
          `round ${round}: at ${FIXED_RATE}/s tender p50 ${formatMs(percentile(tf.latencies, 50))} p99 ${formatMs(p99.tender.at(-1) ?? 0)}` +
            ` | hello p99 ${formatMs(p99.hello.at(-1) ?? 0)} | max tenders ${formatNumber(tm.rate)}/s, hello ${formatNumber(hm.rate)}/s`,
        );
      }
      return [
        {
          benchmark: `tender creation p99 at ${FIXED_RATE} req/s (mTLS + bound token, PGlite, open loop)`,
          figure: { value: median(p99.tender), unit: 'ms' },
          limit: {
            name: `fastify hello-world POST p99 at ${FIXED_RATE} req/s, same TLS 1.3 mTLS listener`,
            value: median(p99.hello),
            unit: 'ms',
          },
          ratio: roundRatios(p99.tender, p99.hello),
        },
        {
          benchmark: `maximum tenders/s (${CONNECTIONS} connections, mTLS + bound token, PGlite)`,
          figure: { value: median(max.tender), unit: 'tenders/s' },
          limit: {
            name: 'fastify hello-world POST, same TLS 1.3 mTLS listener',
            value: median(max.hello),
            unit: 'req/s',
          },
          ratio: roundRatios(max.tender, max.hello),
        },
      ];
    } finally {
      await worker.terminate();
      await hello.close();
      await gw.stop();
    }
  });
}

if (isMainThread) await benchMain();
else await workerMain(workerData as Setup);
