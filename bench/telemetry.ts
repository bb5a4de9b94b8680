/**
 * Telemetry ingest end to end (issue 5 "Benchmarks"): several vehicles, each on its own mTLS connection
 * (HTTP/1.1 keep-alive, one request in flight), post signed 100-record batches to a real gateway's
 * /v1/telemetry — verification, replay window, group commit (COPY on PostgreSQL, unnest on PGlite), audit
 * entry — first signed with Ed25519 by the certificate key, then with the hybrid Ed25519 + ML-DSA-65
 * (the ML-DSA-65 half registered as a device key). On embedded PGlite always, and on PostgreSQL when
 * DATABASE_URL is set (in a schema of its own, dropped afterwards). Reported per store and suite: records/s,
 * batches/s, p50/p99 batch-acknowledgement latency (request sent → response read, undici, sub-millisecond).
 *
 * Limits, measured in the same process in every round, right after the figure:
 *  1. the suite's verifications per second in one thread (node:crypto, reused KeyObjects) over the signing
 *     input of a batch of the same shape, × 100 records: what the cryptography alone would allow;
 *  2. raw COPY rows per second into telemetry_records — on PostgreSQL into the gateway's own table, through
 *     a connection of its own; on PGlite into the same table of a second PGlite database in this process
 *     (the gateway's PGlite handle is its own) — 5,000 rows a COPY, one transaction each: what the store
 *     alone would allow.
 * The load client runs in a worker thread of this process (this same file) and signs every batch before a
 * phase starts, so its cost stays out of the measurement; it reports batches it had to sign on the fly.
 * The per-device token buckets are raised for the run (a bench vehicle sends ~100× a truck's rate); the
 * limiter itself still runs on every batch. Everything else is the default configuration, request logging
 * included (to /dev/null).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { ed25519Sign, keyIdOf } from '@fleetgate/core/signature/ed25519';
import {
  hybridEd25519MlDsa65KeyIdOf,
  hybridEd25519MlDsa65Sign,
  hybridEd25519MlDsa65Verify,
} from '@fleetgate/core/signature/hybrid-ed25519-mldsa65';
import { signingInput } from '@fleetgate/core/signature/signing-input';
import { defaultConfig } from '@fleetgate/gateway/config';
import { type Gateway, startGateway } from '@fleetgate/gateway/gateway';
import { bootstrapPki } from '@fleetgate/gateway/pki/bootstrap';
import { openStore } from '@fleetgate/gateway/store';
import { registerDeviceKey } from '@fleetgate/gateway/telemetry/device-keys/register';
import {
  DrivingState,
  encodeBatch,
  encodeEnvelope,
  SignatureAlgorithm,
  TELEMETRY_PAYLOAD_TYPE,
} from '@fleetgate/protocol/telemetry';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import pino from 'pino';
import { Client } from 'undici';
import { type BenchRow, formatMs, formatNumber } from './lib/result.ts';
import { runBenchmark } from './lib/runner.ts';
import {
  concatSamples,
  LatencyWindow,
  median,
  rateOfSync,
  roundRatios,
  summarizeLatencies,
} from './lib/stats.ts';

type Suite = 'ed25519' | 'ed25519+ml-dsa-65';
const SUITES: readonly Suite[] = ['ed25519', 'ed25519+ml-dsa-65'];
const RECORDS = 100;
const VEHICLES = Number(process.env.BENCH_TELEMETRY_VEHICLES ?? 12);
const ROUNDS = 3;
const WARMUP_MS = 800;
const INGEST_MS = 2_500;
const VERIFY_MS = 400;
const COPY_MS = 500;
const COPY_ROWS = 5_000;
/** Envelopes signed ahead per vehicle and phase: the fastest phase so far with this much headroom. */
const HEADROOM = 1.5;

// ---------------------------------------------------------------------------------------------------
// Envelopes: real batches, real signatures (core), the protocol codec — no canned bytes.

interface VehicleKeys {
  id: string;
  certificate: KeyObject;
  mlDsa65: KeyObject;
}

function batchPayload(vehicleId: string, counter: bigint, sentAt: number): Uint8Array {
  return encodeBatch({
    vehicleId,
    loadId: 'LOAD-BENCH',
    firstSequence: counter * BigInt(RECORDS),
    sentAtUnixMs: BigInt(sentAt),
    records: Array.from({ length: RECORDS }, (_, i) => ({
      timeUnixMs: BigInt(sentAt - 100 * (RECORDS - 1 - i)),
      latitude: 32.7767 - i * 0.0001,
      longitude: -96.797 + i * 0.0001,
      speedMps: 26.5,
      headingDeg: 160,
      odometerM: 100_000 + Number(counter) * RECORDS * 2.6 + i * 2.6,
      drivingState: DrivingState.AUTONOMOUS,
      faults: i % 50 === 0 ? ['LIDAR_FRONT.DEGRADED'] : [],
    })),
  });
}

function signedEnvelope(v: VehicleKeys, suite: Suite, counter: bigint): Uint8Array {
  const payload = batchPayload(v.id, counter, Date.now());
  const input = signingInput(TELEMETRY_PAYLOAD_TYPE, counter, payload);
  const hybrid = { ed25519: v.certificate, mlDsa65: v.mlDsa65 };
  const signature =
    suite === 'ed25519'
      ? {
          algorithm: SignatureAlgorithm.ED25519,
          keyId: keyIdOf(createPublicKey(v.certificate)),
          signature: ed25519Sign(v.certificate, input),
        }
      : {
          algorithm: SignatureAlgorithm.ED25519_MLDSA65,
          keyId: hybridEd25519MlDsa65KeyIdOf(hybrid),
          signature: hybridEd25519MlDsa65Sign(hybrid, input),
        };
  return encodeEnvelope({ payload, payloadType: TELEMETRY_PAYLOAD_TYPE, counter, signatures: [signature] });
}

// ---------------------------------------------------------------------------------------------------
// The load client (worker thread): one undici Client per vehicle, a closed loop each.

interface WorkerSetup {
  ca: string;
  origin: string;
  vehicles: { id: string; chain: string; key: string; mlDsa65Pkcs8: Uint8Array }[];
}

type ToWorker =
  | { type: 'prepare'; suite: Suite; perVehicle: number }
  | { type: 'run'; warmupMs: number; durationMs: number }
  | { type: 'close' };

interface RunResult {
  type: 'result';
  rate: number;
  latencies: Float64Array;
  errors: Record<string, number>;
  firstError?: string;
  onTheFly: number;
  elu: number;
}

function loadWorker(): void {
  const setup = workerData as WorkerSetup;
  const vehicles = setup.vehicles.map((v) => ({
    keys: {
      id: v.id,
      certificate: createPrivateKey(v.key),
      mlDsa65: createPrivateKey({ key: Buffer.from(v.mlDsa65Pkcs8), format: 'der', type: 'pkcs8' }),
    } satisfies VehicleKeys,
    client: new Client(setup.origin, {
      connect: { ca: setup.ca, cert: v.chain, key: v.key, minVersion: 'TLSv1.3' },
      pipelining: 1,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 60_000,
    }),
    counter: 0n,
    pool: [] as Uint8Array[],
  }));
  let suite: Suite = 'ed25519';
  const make = (v: (typeof vehicles)[number]): Uint8Array => {
    v.counter += 1n;
    return signedEnvelope(v.keys, suite, v.counter);
  };
  const run = async (warmupMs: number, durationMs: number): Promise<RunResult> => {
    const start = performance.now();
    const window = new LatencyWindow(start + warmupMs, start + warmupMs + durationMs);
    const stopAt = start + warmupMs + durationMs;
    const errors: Record<string, number> = {};
    let firstError: string | undefined;
    let onTheFly = 0;
    const elu0 = performance.eventLoopUtilization();
    await Promise.all(
      vehicles.map(async (v) => {
        while (performance.now() < stopAt) {
          let body = v.pool.shift();
          if (body === undefined) {
            onTheFly += 1;
            body = make(v);
          }
          const t0 = performance.now();
          try {
            const res = await v.client.request({
              path: '/v1/telemetry',
              method: 'POST',
              headers: { 'content-type': 'application/x-protobuf' },
              body,
            });
            if (res.statusCode === 202) {
              await res.body.dump();
              window.record(t0, performance.now());
            } else {
              const text = (await res.body.text()).slice(0, 300);
              errors[String(res.statusCode)] = (errors[String(res.statusCode)] ?? 0) + 1;
              firstError ??= `${res.statusCode} ${text}`;
            }
          } catch (error) {
            const e = error as Error & { code?: string };
            errors[e.code ?? e.name] = (errors[e.code ?? e.name] ?? 0) + 1;
            firstError ??= `${e.code ?? e.name}: ${e.message}`;
            return;
          }
        }
      }),
    );
    return {
      type: 'result',
      rate: window.rate(),
      latencies: window.latencies(),
      errors,
      ...(firstError === undefined ? {} : { firstError }),
      onTheFly,
      elu: performance.eventLoopUtilization(elu0).utilization,
    };
  };
  parentPort?.on('message', (message: ToWorker) => {
    if (message.type === 'close') {
      void Promise.allSettled(vehicles.map((v) => v.client.close())).then(() => parentPort?.close());
    } else if (message.type === 'prepare') {
      suite = message.suite;
      for (const v of vehicles) v.pool = Array.from({ length: message.perVehicle }, () => make(v));
      parentPort?.postMessage({ type: 'prepared' });
    } else {
      run(message.warmupMs, message.durationMs).then(
        (r) => parentPort?.postMessage(r, [r.latencies.buffer as ArrayBuffer]),
        (error: unknown) => parentPort?.postMessage({ type: 'crash', message: String(error) }),
      );
    }
  });
}

class LoadClient {
  readonly #worker: Worker;

  constructor(setup: WorkerSetup) {
    this.#worker = new Worker(new URL(import.meta.url), { workerData: setup });
    this.#worker.unref();
  }

  #ask<T>(message: ToWorker): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#worker.once('message', (reply: T | { type: 'crash'; message: string }) => {
        if ((reply as { type: string }).type === 'crash')
          reject(new Error((reply as { message: string }).message));
        else resolve(reply as T);
      });
      this.#worker.postMessage(message);
    });
  }

  prepare(suite: Suite, perVehicle: number): Promise<unknown> {
    return this.#ask({ type: 'prepare', suite, perVehicle });
  }

  async run(warmupMs: number, durationMs: number): Promise<RunResult & { serverElu: number }> {
    const elu0 = performance.eventLoopUtilization();
    const result = await this.#ask<RunResult>({ type: 'run', warmupMs, durationMs });
    if (Object.keys(result.errors).length > 0) {
      throw new Error(`unexpected outcomes ${JSON.stringify(result.errors)}; first: ${result.firstError}`);
    }
    if (result.latencies.length === 0) throw new Error('no batch was acknowledged in the window');
    return { ...result, serverElu: performance.eventLoopUtilization(elu0).utilization };
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.postMessage({ type: 'close' } satisfies ToWorker);
    const timer = setTimeout(() => void this.#worker.terminate(), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------------
// Limits.

/** COPY text of `rows` telemetry_records rows (100-record batches), batch ids from `firstBatch`. */
function copyText(rows: number, firstBatch: number): string {
  const now = Date.now();
  const lines: string[] = [];
  for (let i = 0; i < rows; i += 1) {
    const batch = firstBatch + Math.floor(i / RECORDS);
    const ordinal = i % RECORDS;
    lines.push(
      `${batch}\t${ordinal}\tBENCH-COPY\t${batch * RECORDS + ordinal}\t${new Date(now - ordinal * 100).toISOString()}\t` +
        `${32.7767 - ordinal * 0.0001}\t${-96.797 + ordinal * 0.0001}\t26.5\t160\t${100_000 + i * 2.6}\tAUTONOMOUS\t{}\n`,
    );
  }
  return lines.join('');
}

const COPY_SQL =
  'COPY telemetry_records (batch_id, ordinal, vehicle_id, seq, recorded_at, latitude, longitude, speed_mps, heading_deg, odometer_m, driving_state, faults) FROM';

interface CopyLimit {
  /** Rows per second of COPY_ROWS-row COPY statements, one transaction each, for about `ms`. */
  measure(ms: number): Promise<number>;
  close(): Promise<void>;
}

async function postgresCopyLimit(url: string, schema: string): Promise<CopyLimit> {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  let nextBatch = 1_000_000_000;
  return {
    async measure(ms) {
      const start = performance.now();
      let rows = 0;
      do {
        const text = copyText(COPY_ROWS, nextBatch);
        nextBatch += COPY_ROWS / RECORDS;
        await client.query('BEGIN');
        await pipeline(Readable.from([Buffer.from(text)]), client.query(copyFrom(`${COPY_SQL} STDIN`)));
        await client.query('COMMIT');
        rows += COPY_ROWS;
      } while (performance.now() - start < ms);
      return rows / ((performance.now() - start) / 1000);
    },
    close: () => client.end(),
  };
}

async function pgliteCopyLimit(): Promise<CopyLimit> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-bench-copy-'));
  const migrated = await openStore({ engine: 'pglite', dataDir: dir }); // the gateway's migrations
  await migrated.close();
  const db = new PGlite(dir);
  await db.waitReady;
  let nextBatch = 1_000_000_000;
  return {
    async measure(ms) {
      const start = performance.now();
      let rows = 0;
      do {
        const blob = new Blob([copyText(COPY_ROWS, nextBatch)]);
        nextBatch += COPY_ROWS / RECORDS;
        await db.transaction(async (tx) => {
          await tx.query(`${COPY_SQL} '/dev/blob'`, [], { blob });
        });
        rows += COPY_ROWS;
      } while (performance.now() - start < ms);
      return rows / ((performance.now() - start) / 1000);
    },
    close: async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One thread's verifications per second of `suite` over a signing input of the benchmark's batch shape. */
function verifyLimit(suite: Suite, keys: VehicleKeys, ms: number): number {
  const payload = batchPayload(keys.id, 1n, Date.now());
  const input = signingInput(TELEMETRY_PAYLOAD_TYPE, 1n, payload);
  if (suite === 'ed25519') {
    const publicKey = createPublicKey(keys.certificate);
    const signature = ed25519Sign(keys.certificate, input);
    return rateOfSync(() => {
      if (!verify(null, input, publicKey, signature)) throw new Error('sample does not verify');
    }, ms);
  }
  const hybrid = { ed25519: createPublicKey(keys.certificate), mlDsa65: createPublicKey(keys.mlDsa65) };
  const signature = hybridEd25519MlDsa65Sign({ ed25519: keys.certificate, mlDsa65: keys.mlDsa65 }, input);
  return rateOfSync(() => {
    if (!hybridEd25519MlDsa65Verify(hybrid, input, signature)) throw new Error('sample does not verify');
  }, ms);
}

// ---------------------------------------------------------------------------------------------------
// The gateway under test.

interface BenchGateway {
  gateway: Gateway;
  setup: WorkerSetup;
  keys: VehicleKeys[];
  schema?: string;
  stop(): Promise<void>;
}

async function startBenchGateway(
  engine: 'pglite' | 'postgres',
  url: string | undefined,
): Promise<BenchGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetgate-bench-telemetry-'));
  const ids = Array.from({ length: VEHICLES }, (_, i) => `BENCH-TRK-${String(i + 1).padStart(3, '0')}`);
  const config = defaultConfig();
  for (const l of Object.values(config.listeners)) {
    l.host = '127.0.0.1';
    l.port = 0;
  }
  config.fleet.vehicles = ids;
  config.partners = [{ id: 'bench-tms', tenant: 'bench' }];
  const unlimited = { burst: 1_000_000_000, perSecond: 1_000_000_000 };
  config.telemetryIngest.rateLimits = { records: unlimited, bytes: unlimited };
  if (engine === 'postgres' && url !== undefined) config.store = { engine: 'postgres', url };
  const schema = engine === 'postgres' ? `fg_bench_${process.pid}_${Date.now().toString(36)}` : undefined;
  try {
    const manifest = await bootstrapPki(dataDir, { vehicles: ids, partners: ['bench-tms'] });
    const logger = pino({ level: config.log.level }, pino.destination({ dest: '/dev/null', sync: true }));
    const gateway = await startGateway({
      dataDir,
      config,
      logger,
      ...(schema ? { postgresSchema: schema } : {}),
    });
    const read = (path: string): string => readFileSync(path, 'utf8');
    const keys: VehicleKeys[] = [];
    const vehicles: WorkerSetup['vehicles'] = [];
    for (const id of ids) {
      const paths = manifest.vehicles[id];
      if (paths === undefined) throw new Error(`no credentials for ${id}`);
      const ml = generateKeyPairSync('ml-dsa-65');
      await registerDeviceKey(
        { store: gateway.store, audit: gateway.audit },
        {
          vehicleId: id,
          algorithm: 'ed25519+ml-dsa-65',
          publicKey: ml.publicKey,
          actor: { kind: 'operator', id: 'bench' },
        },
      );
      keys.push({ id, certificate: createPrivateKey(read(paths.key)), mlDsa65: ml.privateKey });
      vehicles.push({
        id,
        chain: read(paths.chain),
        key: read(paths.key),
        mlDsa65Pkcs8: new Uint8Array(ml.privateKey.export({ format: 'der', type: 'pkcs8' })),
      });
    }
    return {
      gateway,
      keys,
      ...(schema ? { schema } : {}),
      setup: {
        ca: read(manifest.caBundle),
        origin: `https://127.0.0.1:${gateway.addresses.telemetry.port}`,
        vehicles,
      },
      stop: async () => {
        try {
          await gateway.close();
        } finally {
          if (schema !== undefined && url !== undefined) {
            const admin = new pg.Client({ connectionString: url });
            await admin.connect();
            await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
            await admin.end();
          }
          rmSync(dataDir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  await runBenchmark(
    'telemetry',
    ROUNDS,
    async ({ log }) => {
      const url = process.env.DATABASE_URL;
      const engines: ('pglite' | 'postgres')[] = url ? ['pglite', 'postgres'] : ['pglite'];
      if (!url) log('DATABASE_URL is not set: PostgreSQL rows skipped (PGlite only)');
      const rows: BenchRow[] = [];
      for (const engine of engines) {
        const gw = await startBenchGateway(engine, url);
        const load = new LoadClient(gw.setup);
        const copy =
          engine === 'postgres' && url && gw.schema
            ? await postgresCopyLimit(url, gw.schema)
            : await pgliteCopyLimit();
        const writes = gw.gateway.telemetryIngest.queue.recordWrites;
        try {
          for (const suite of SUITES) {
            const sample = gw.keys[0] as VehicleKeys;
            // Untimed first pass: JIT, TLS sessions, the first pages of every table.
            await load.prepare(suite, 40);
            const warm = await load.run(0, WARMUP_MS);
            verifyLimit(suite, sample, 200);
            await copy.measure(200);
            let peak = warm.latencies.length / (WARMUP_MS / 1000);
            const figures: number[] = [];
            const verifies: number[] = [];
            const copies: number[] = [];
            const latencies: Float64Array[] = [];
            for (let round = 1; round <= ROUNDS; round += 1) {
              const perVehicle = Math.ceil(((peak * (INGEST_MS + 200)) / 1000 / VEHICLES) * HEADROOM) + 10;
              await load.prepare(suite, perVehicle);
              const r = await load.run(100, INGEST_MS);
              const v = verifyLimit(suite, sample, VERIFY_MS) * RECORDS;
              const c = await copy.measure(COPY_MS);
              peak = Math.max(peak, r.rate);
              figures.push(r.rate * RECORDS);
              verifies.push(v);
              copies.push(c);
              latencies.push(r.latencies);
              const l = summarizeLatencies(r.latencies);
              log(
                `${engine} ${suite} round ${round}: ${formatNumber(r.rate * RECORDS)} records/s (${formatNumber(r.rate)} batches/s), ` +
                  `p50 ${formatMs(l.p50)}, p99 ${formatMs(l.p99)} | verify limit ${formatNumber(v)} records/s | ` +
                  `raw COPY ${formatNumber(c)} rows/s | server ELU ${r.serverElu.toFixed(2)}, client ELU ${r.elu.toFixed(2)}` +
                  (r.onTheFly > 0 ? `, ${r.onTheFly} batches signed on the fly` : ''),
              );
            }
            const l = summarizeLatencies(concatSamples(latencies));
            const records = median(figures);
            const benchmark = `telemetry ingest, ${suite}, ${VEHICLES} vehicles × ${RECORDS}-record batches, mTLS, ${engine === 'postgres' ? 'PostgreSQL' : 'PGlite'} (${writes})`;
            const figure = {
              value: records,
              unit: 'records/s',
              detail: `${formatNumber(records / RECORDS)} batches/s, p50 ${formatMs(l.p50)}, p99 ${formatMs(l.p99)}`,
            };
            const suiteName = suite === 'ed25519' ? 'Ed25519' : 'hybrid Ed25519+ML-DSA-65';
            rows.push(
              {
                benchmark,
                figure,
                limit: {
                  name: `${suiteName} verifies/s × ${RECORDS} records, 1 thread, same batch shape`,
                  value: median(verifies),
                  unit: 'records/s',
                },
                ratio: roundRatios(figures, verifies),
              },
              {
                benchmark,
                figure,
                limit: {
                  name: `raw COPY into telemetry_records (${COPY_ROWS} rows a COPY), ${engine === 'postgres' ? 'same schema' : 'a second PGlite'}`,
                  value: median(copies),
                  unit: 'rows/s',
                },
                ratio: roundRatios(figures, copies),
              },
            );
          }
        } finally {
          await load.close();
          await copy.close();
          await gw.stop();
        }
      }
      return rows;
    },
    { watchdogMs: 110_000 },
  );
}

if (isMainThread) await main();
else loadWorker();
