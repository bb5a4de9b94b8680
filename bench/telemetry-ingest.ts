/**
 * Telemetry ingest, end to end: several vehicles each post signed 10-record batches on their own mTLS
 * connection (HTTP/1.1 keep-alive, one request in flight) to a real gateway's /v1/telemetry on embedded
 * PGlite. Each accepted batch costs an Ed25519 verify, a replay-window update, the batch and record
 * inserts and an audit entry, all in one transaction. Reported: batches/s, records/s, p50/p99 latency.
 *
 * Limits, measured in the same process in each round, right next to the figure:
 *  1. raw Ed25519 verifications per second in one thread (node:crypto, one reused KeyObject) over the
 *     same signing input — the one piece of cryptography every batch needs, and the ceiling for a
 *     single-threaded gateway that did nothing else;
 *  2. a fastify hello-world POST on a listener with the gateway's TLS 1.3 mTLS policy and certificates
 *     (HTTP/2 with HTTP/1.1 allowed, as the telemetry listener), receiving the same envelope bytes —
 *     the ceiling of the transport and framework alone.
 * The ratios say which share of each ceiling the gateway reaches; see docs/performance.md.
 */
import { createPrivateKey, verify } from 'node:crypto';
import { signBatch } from './lib/bodies.ts';
import { startBenchGateway } from './lib/fixture.ts';
import { HELLO_PATH, startHelloServer } from './lib/hello.ts';
import { LoadClient, type PhaseResult } from './lib/load.ts';
import { formatMs, formatNumber } from './lib/result.ts';
import { runBenchmark } from './lib/runner.ts';
import { concatSamples, median, rateOfSync, roundRatios, summarizeLatencies } from './lib/stats.ts';

const VEHICLES = Array.from({ length: 8 }, (_, i) => `BENCH-TRK-${String(i + 1).padStart(3, '0')}`);
const RECORDS = 10;
const ROUNDS = 3;
const VERIFY_MS = 1_000;
const WARMUP_MS = 500;
const INGEST_MS = 4_000;
const HELLO_MS = 3_000;

const elu = (p: PhaseResult): string =>
  `server ELU ${p.serverElu.toFixed(2)}, client ELU ${p.clientElu.toFixed(2)}`;

await runBenchmark('telemetry-ingest', ROUNDS, async ({ log }) => {
  const gw = await startBenchGateway({
    vehicles: VEHICLES,
    partners: [{ id: 'bench-tms', tenant: 'bench' }],
  });
  const hello = await startHelloServer(gw.serverTls, { http2: true });
  const load = new LoadClient({
    ca: gw.ca,
    connections: VEHICLES.map((vehicleId) => {
      const c = gw.vehicle(vehicleId);
      return { cert: c.chain, key: c.key, body: { kind: 'telemetry', vehicleId, keyPem: c.key } };
    }),
  });
  try {
    const first = VEHICLES[0] as string;
    // The limit's input: a batch of the same shape, signed the same way, with the key object reused.
    const sample = signBatch(createPrivateKey(gw.vehicle(first).key), first, 1n, RECORDS);
    const verifyOnce = (): void => {
      if (!verify(null, sample.signingInput, sample.publicKey, sample.signature))
        throw new Error('sample does not verify');
    };
    const phase = { contentType: 'application/x-protobuf', warmupMs: WARMUP_MS } as const;
    const ingestPhase = {
      ...phase,
      origin: gw.url.telemetry,
      path: '/v1/telemetry',
      expectStatus: 202,
      bodies: 'fresh',
    } as const;
    const helloPhase = {
      ...phase,
      origin: hello.url,
      path: HELLO_PATH,
      expectStatus: 200,
      bodies: 'pool',
    } as const;
    // An untimed pass over every phase first: JIT, connection set-up and the first PGlite pages stay
    // out of round 1.
    rateOfSync(verifyOnce, WARMUP_MS);
    await load.run({ ...ingestPhase, durationMs: WARMUP_MS });
    await load.run({ ...helloPhase, durationMs: WARMUP_MS });
    const verifies: number[] = [];
    const ingests: PhaseResult[] = [];
    const hellos: PhaseResult[] = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      const v = rateOfSync(verifyOnce, VERIFY_MS);
      const ingest = await load.run({ ...ingestPhase, durationMs: INGEST_MS });
      const h = await load.run({ ...helloPhase, durationMs: HELLO_MS });
      verifies.push(v);
      ingests.push(ingest);
      hellos.push(h);
      log(
        `round ${round}: Ed25519 verify ${formatNumber(v)}/s | ingest ${formatNumber(ingest.rate)} batches/s, ` +
          `p50 ${formatMs(ingest.latency.p50)}, p99 ${formatMs(ingest.latency.p99)} (${elu(ingest)}) | ` +
          `hello ${formatNumber(h.rate)} req/s, p50 ${formatMs(h.latency.p50)} (${elu(h)})`,
      );
    }
    const ingestRates = ingests.map((p) => p.rate);
    const batches = median(ingestRates);
    const latency = summarizeLatencies(concatSamples(ingests.map((p) => p.latencies)));
    const helloLatency = summarizeLatencies(concatSamples(hellos.map((p) => p.latencies)));
    const figure = {
      value: batches,
      unit: 'batches/s',
      detail: `${formatNumber(batches * RECORDS)} records/s, p50 ${formatMs(latency.p50)}, p99 ${formatMs(latency.p99)}`,
    };
    const benchmark = `telemetry ingest (${VEHICLES.length} vehicles, ${RECORDS}-record batches, PGlite)`;
    return [
      {
        benchmark,
        figure,
        limit: {
          name: 'Ed25519 verify, 1 thread, same signing input',
          value: median(verifies),
          unit: 'verifies/s',
        },
        ratio: roundRatios(ingestRates, verifies),
      },
      {
        benchmark,
        figure,
        limit: {
          name: 'fastify hello-world POST, same TLS 1.3 mTLS listener',
          value: median(hellos.map((p) => p.rate)),
          unit: 'req/s',
          detail: `p50 ${formatMs(helloLatency.p50)}, p99 ${formatMs(helloLatency.p99)}, client ELU ${median(hellos.map((p) => p.clientElu)).toFixed(2)}`,
        },
        ratio: roundRatios(
          ingestRates,
          hellos.map((p) => p.rate),
        ),
      },
    ];
  } finally {
    await load.close();
    await hello.close();
    await gw.stop();
  }
});
