/**
 * The load client, in a worker thread so that it has its own core while the server under test (the
 * gateway or the hello-world limit) has the main thread's: a closed loop per connection, one undici
 * Client per connection (mTLS with that connection's certificate, keep-alive, pipelining 1, so one
 * request in flight each), latencies taken from just before the request to the last byte of the
 * response body. undici rather than autocannon: autocannon reports whole milliseconds here.
 *
 * Protocol (see load.ts): workerData is a LoadSetup; messages are RunRequest → RunReply, then 'close'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Client } from 'undici';
import { telemetryBodies, tenderBodies } from './bodies.ts';
import { LatencyWindow } from './stats.ts';

export type BodySpec =
  | { kind: 'telemetry'; vehicleId: string; keyPem: string }
  | { kind: 'tender'; prefix: string };

export interface ConnectionSpec {
  /** PEM chain the client presents (leaf then intermediate). */
  cert: string;
  key: string;
  body: BodySpec;
  /** Extra request headers for this connection (e.g. its access token). */
  headers?: Record<string, string>;
}

export interface LoadSetup {
  ca: string;
  connections: ConnectionSpec[];
}

export interface RunRequest {
  type: 'run';
  origin: string;
  path: string;
  contentType: string;
  expectStatus: number;
  warmupMs: number;
  durationMs: number;
  /** 'fresh': a new body per request (unique counters, references); 'pool': cycle 64 pre-built ones. */
  bodies: 'fresh' | 'pool';
}

export interface RunReply {
  type: 'result';
  count: number;
  rate: number;
  latencies: Float64Array;
  /** Unexpected outcomes by status code or error code. */
  errors: Record<string, number>;
  firstError?: string;
  /** Event-loop utilisation of this (client) thread over the run. */
  elu: number;
}

const POOL_SIZE = 64;

type Body = Uint8Array | string;

function bodyMaker(spec: BodySpec): () => Body {
  return spec.kind === 'telemetry' ? telemetryBodies(spec.vehicleId, spec.keyPem) : tenderBodies(spec.prefix);
}

const setup = workerData as LoadSetup;
const fresh = setup.connections.map((c) => bodyMaker(c.body));
const pools: Body[][] = setup.connections.map(() => []);
const connectionHeaders: Record<string, string>[] = setup.connections.map((c) => c.headers ?? {});
const clients = new Map<string, Client[]>();

function clientsFor(origin: string): Client[] {
  let list = clients.get(origin);
  if (list === undefined) {
    list = setup.connections.map(
      (c) =>
        new Client(origin, {
          connect: { ca: setup.ca, cert: c.cert, key: c.key, minVersion: 'TLSv1.3' },
          pipelining: 1,
          keepAliveTimeout: 60_000,
          keepAliveMaxTimeout: 60_000,
        }),
    );
    clients.set(origin, list);
  }
  return list;
}

function nextBody(i: number, mode: RunRequest['bodies']): Body {
  const make = fresh[i] as () => Body;
  if (mode === 'fresh') return make();
  const pool = pools[i] as Body[];
  if (pool.length < POOL_SIZE) {
    pool.push(make());
    return pool.at(-1) as Body;
  }
  const body = pool.shift() as Body;
  pool.push(body);
  return body;
}

async function run(req: RunRequest): Promise<RunReply> {
  const list = clientsFor(req.origin);
  const start = performance.now();
  const window = new LatencyWindow(start + req.warmupMs, start + req.warmupMs + req.durationMs);
  const stopAt = start + req.warmupMs + req.durationMs;
  const errors: Record<string, number> = {};
  let firstError: string | undefined;
  const fail = (key: string, detail: string): void => {
    errors[key] = (errors[key] ?? 0) + 1;
    firstError ??= detail;
  };
  const elu0 = performance.eventLoopUtilization();
  await Promise.all(
    list.map(async (client, i) => {
      while (performance.now() < stopAt) {
        const body = nextBody(i, req.bodies);
        const t0 = performance.now();
        try {
          const res = await client.request({
            path: req.path,
            method: 'POST',
            headers: { ...connectionHeaders[i], 'content-type': req.contentType },
            body,
          });
          if (res.statusCode === req.expectStatus) {
            await res.body.dump();
            window.record(t0, performance.now());
          } else {
            fail(String(res.statusCode), `${res.statusCode} ${(await res.body.text()).slice(0, 300)}`);
          }
        } catch (error) {
          const e = error as Error & { code?: string };
          fail(e.code ?? e.name, `${e.code ?? e.name}: ${e.message}`);
          return;
        }
      }
    }),
  );
  const elu = performance.eventLoopUtilization(elu0).utilization;
  return {
    type: 'result',
    count: window.count,
    rate: window.rate(),
    latencies: window.latencies(),
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    elu,
  };
}

parentPort?.on('message', (message: RunRequest | { type: 'close' }) => {
  if (message.type === 'close') {
    void Promise.allSettled([...clients.values()].flat().map((c) => c.close())).then(() =>
      parentPort?.close(),
    );
    return;
  }
  run(message).then(
    (reply) => parentPort?.postMessage(reply, [reply.latencies.buffer as ArrayBuffer]),
    (error: unknown) => parentPort?.postMessage({ type: 'crash', message: String(error) }),
  );
});
