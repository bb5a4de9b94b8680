/**
 * Tender creation at the highest rate a few partner connections can drive: POST /v1/tenders with the
 * partner's certificate over mTLS (HTTP/1.1 keep-alive, one request in flight per connection), every
 * tender with a unique reference, on a real gateway with embedded PGlite. Each one is schema-validated,
 * decided, stored and given its audit entry in one transaction. Reported: tenders/s, p50/p99 latency.
 *
 * Limit, measured in the same process in each round, right next to the figure: a fastify hello-world
 * POST on a listener built like the control plane (the gateway's TLS 1.3 mTLS policy and certificates,
 * HTTP/1.1), receiving JSON bodies of the same shape from the same client — the ceiling of transport
 * and framework alone, so the ratio is the share of it the tender path keeps.
 */
import { randomBytes } from 'node:crypto';
import { startBenchGateway } from './lib/fixture.ts';
import { HELLO_PATH, startHelloServer } from './lib/hello.ts';
import { LoadClient, type PhaseResult } from './lib/load.ts';
import { certificateBoundToken } from './lib/oauth-token.ts';
import { formatMs, formatNumber } from './lib/result.ts';
import { runBenchmark } from './lib/runner.ts';
import { concatSamples, median, roundRatios, summarizeLatencies } from './lib/stats.ts';

const PARTNER = { id: 'bench-tms', tenant: 'bench' };
const CONNECTIONS = 4;
const ROUNDS = 3;
const WARMUP_MS = 500;
const TENDER_MS = 4_000;
const HELLO_MS = 3_000;

const elu = (p: PhaseResult): string =>
  `server ELU ${p.serverElu.toFixed(2)}, client ELU ${p.clientElu.toFixed(2)}`;

await runBenchmark('tenders', ROUNDS, async ({ log }) => {
  const gw = await startBenchGateway({ vehicles: ['BENCH-TRK-001'], partners: [PARTNER] });
  const hello = await startHelloServer(gw.serverTls, { http2: false });
  const creds = gw.partner(PARTNER.id);
  const run = randomBytes(4).toString('hex');
  // Every connection carries its own certificate-bound token: the figure includes token and binding
  // validation on every request, as in production.
  const tokens = await Promise.all(
    Array.from({ length: CONNECTIONS }, () =>
      certificateBoundToken(
        gw.url.control,
        { chain: creds.chain, key: creds.key, ca: gw.ca },
        PARTNER.id,
        'tenders:write',
      ),
    ),
  );
  const load = new LoadClient({
    ca: gw.ca,
    connections: Array.from({ length: CONNECTIONS }, (_, i) => ({
      cert: creds.chain,
      key: creds.key,
      body: { kind: 'tender', prefix: `BENCH-${run}-C${i}` },
      headers: { authorization: `Bearer ${tokens[i] as string}` },
    })),
  });
  try {
    const phase = { contentType: 'application/json', warmupMs: WARMUP_MS, bodies: 'fresh' } as const;
    const tenderPhase = { ...phase, origin: gw.url.control, path: '/v1/tenders', expectStatus: 201 } as const;
    const helloPhase = { ...phase, origin: hello.url, path: HELLO_PATH, expectStatus: 200 } as const;
    // An untimed pass over both phases first: JIT, connection set-up and the first PGlite pages stay
    // out of round 1.
    await load.run({ ...tenderPhase, durationMs: WARMUP_MS });
    await load.run({ ...helloPhase, durationMs: WARMUP_MS });
    const tenders: PhaseResult[] = [];
    const hellos: PhaseResult[] = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      const t = await load.run({ ...tenderPhase, durationMs: TENDER_MS });
      const h = await load.run({ ...helloPhase, durationMs: HELLO_MS });
      tenders.push(t);
      hellos.push(h);
      log(
        `round ${round}: tenders ${formatNumber(t.rate)}/s, p50 ${formatMs(t.latency.p50)}, p99 ${formatMs(t.latency.p99)} ` +
          `(${elu(t)}) | hello ${formatNumber(h.rate)} req/s, p50 ${formatMs(h.latency.p50)} (${elu(h)})`,
      );
    }
    const [stored] = await gw.gateway.store.query<{ n: string }>('SELECT count(*)::int8 AS n FROM tenders');
    log(`tenders stored: ${stored?.n}`);
    const rates = tenders.map((p) => p.rate);
    const latency = summarizeLatencies(concatSamples(tenders.map((p) => p.latencies)));
    const helloLatency = summarizeLatencies(concatSamples(hellos.map((p) => p.latencies)));
    return [
      {
        benchmark: `tender creation (${CONNECTIONS} connections, PGlite)`,
        figure: {
          value: median(rates),
          unit: 'tenders/s',
          detail: `p50 ${formatMs(latency.p50)}, p99 ${formatMs(latency.p99)}`,
        },
        limit: {
          name: 'fastify hello-world POST, same TLS 1.3 mTLS listener',
          value: median(hellos.map((p) => p.rate)),
          unit: 'req/s',
          detail: `p50 ${formatMs(helloLatency.p50)}, p99 ${formatMs(helloLatency.p99)}, client ELU ${median(hellos.map((p) => p.clientElu)).toFixed(2)}`,
        },
        ratio: roundRatios(
          rates,
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
