/** EdgeClient: batching, counter, signing and the retry policy, against a scripted transport. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519Verify, generateEd25519KeyPair, keyIdOf } from '@fleetgate/core/signature/ed25519';
import { signingInput } from '@fleetgate/core/signature/signing-input';
import { ProtocolError } from '@fleetgate/protocol/errors';
import { DrivingState, decodeBatch, decodeEnvelope } from '@fleetgate/protocol/telemetry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EdgeClient, type EdgeClientOptions } from '../src/client.ts';
import { DurableCounter } from '../src/counter.ts';
import { EdgeError } from '../src/errors.ts';
import type { SendResult } from '../src/transport/https.ts';

const T0 = 1_750_000_000_000;
const { privateKey, publicKey } = generateEd25519KeyPair();
const keyId = keyIdOf(publicKey);

type Step = SendResult | EdgeError;

/** A transport that answers from a script and keeps what it was sent. */
class ScriptedTransport {
  readonly sent: Uint8Array[] = [];
  closed = false;
  readonly #script: Step[];

  constructor(script: Step[]) {
    this.#script = [...script];
  }

  async send(envelope: Uint8Array): Promise<SendResult> {
    this.sent.push(envelope);
    const step = this.#script.shift();
    if (step === undefined) throw new Error('script exhausted');
    if (step instanceof EdgeError) throw step;
    return step;
  }

  close(): void {
    this.closed = true;
  }
}

function rec(i: number) {
  return {
    timeUnixMs: BigInt(T0 + i),
    latitude: 29.76,
    longitude: -95.37,
    speedMps: 20,
    headingDeg: 270,
    odometerM: 5_000 + i,
    drivingState: DrivingState.AUTONOMOUS,
    faults: [],
  };
}

let dir: string;
let counter: DurableCounter;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleetgate-client-'));
  counter = DurableCounter.open(join(dir, 'counter'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function client(script: Step[], extra: Partial<EdgeClientOptions> = {}) {
  const transport = new ScriptedTransport(script);
  const sleeps: number[] = [];
  const edge = new EdgeClient({
    vehicleId: 'TRK-0042',
    loadId: 'LD-1',
    privateKey,
    keyId,
    counter,
    transport,
    retry: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...extra,
  });
  return { edge, transport, sleeps };
}

const ok: SendResult = { status: 202 };
const unavailable: SendResult = { status: 503 };
const network = () => new EdgeError('EDGE_NETWORK', 'ECONNRESET');

describe('EdgeClient', () => {
  it('signs and sends a batch of the recorded records with the next counter value', async () => {
    const { edge, transport } = client([ok, ok]);
    edge.record(rec(0), T0);
    edge.record(rec(1), T0);
    const result = await edge.flush(T0 + 10);
    expect(result).toMatchObject({ outcome: 'accepted', status: 202, counter: 1n, records: 2, attempts: 1 });
    const envelope = decodeEnvelope(transport.sent[0] ?? new Uint8Array());
    const sig = envelope.signatures[0]?.signature ?? new Uint8Array();
    expect(
      ed25519Verify(publicKey, signingInput(envelope.payloadType, envelope.counter, envelope.payload), sig),
    ).toBe(true);
    const batch = decodeBatch(envelope.payload);
    expect([batch.vehicleId, batch.loadId, batch.records.length, batch.sentAtUnixMs]).toEqual([
      'TRK-0042',
      'LD-1',
      2,
      BigInt(T0 + 10),
    ]);
    edge.record(rec(2), T0);
    expect(await edge.flush(T0 + 20)).toMatchObject({ outcome: 'accepted', counter: 2n });
    expect(edge.stats).toEqual({ sent: 2, accepted: 2, refused: 0, retried: 0, failed: 0 });
  });

  it('flush with nothing pending sends nothing', async () => {
    const { edge, transport } = client([]);
    expect(await edge.flush(T0)).toEqual({ outcome: 'empty' });
    expect(transport.sent).toHaveLength(0);
  });

  it('retries 5xx and network errors with full-jitter exponential backoff, re-sending identical bytes', async () => {
    const { edge, transport, sleeps } = client([
      unavailable,
      network(),
      { status: 500 },
      { status: 502 },
      ok,
    ]);
    edge.record(rec(0), T0);
    const result = await edge.flush(T0);
    expect(result).toMatchObject({ outcome: 'accepted', attempts: 5, counter: 1n });
    // random() = 0.5 of min(1000, 100 × 2^(n−1)): 50, 100, 200, 400.
    expect(sleeps).toEqual([50, 100, 200, 400]);
    expect(new Set(transport.sent.map((b) => Buffer.from(b).toString('hex'))).size).toBe(1);
    expect(edge.stats).toEqual({ sent: 1, accepted: 1, refused: 0, retried: 4, failed: 0 });
  });

  it('caps each delay at maxDelayMs', async () => {
    const { edge, sleeps } = client(Array(8).fill(unavailable), {
      retry: { maxAttempts: 8, baseDelayMs: 100, maxDelayMs: 1_000 },
      random: () => 0.999,
    });
    edge.record(rec(0), T0);
    await edge.flush(T0);
    expect(sleeps).toEqual([99, 199, 399, 799, 999, 999, 999]);
  });

  it('waits at least Retry-After on 429 and 503, capped at maxDelayMs', async () => {
    const { edge, sleeps } = client([
      { status: 429, retryAfterSeconds: 0.5 },
      { status: 503, retryAfterSeconds: 120 },
      ok,
    ]);
    edge.record(rec(0), T0);
    expect(await edge.flush(T0)).toMatchObject({ outcome: 'accepted', attempts: 3 });
    expect(sleeps).toEqual([500, 1_000]);
  });

  it('gives up after maxAttempts with EDGE_RETRIES_EXHAUSTED and returns the envelope for a spool', async () => {
    const { edge, transport } = client(Array(5).fill(unavailable));
    edge.record(rec(0), T0);
    const result = await edge.flush(T0);
    expect(result.outcome).toBe('failed');
    if (result.outcome !== 'failed') return;
    expect(result.error.code).toBe('EDGE_RETRIES_EXHAUSTED');
    expect(result.lastStatus).toBe(503);
    expect(result.attempts).toBe(5);
    expect(result.envelope).toEqual(transport.sent[0]);
    expect(edge.stats).toEqual({ sent: 1, accepted: 0, refused: 0, retried: 4, failed: 1 });
  });

  it('keeps the last network error as the cause when retries run out on errors', async () => {
    const { edge } = client(Array.from({ length: 5 }, network));
    edge.record(rec(0), T0);
    const result = await edge.flush(T0);
    expect(result.outcome).toBe('failed');
    if (result.outcome !== 'failed') return;
    expect(result.lastStatus).toBeUndefined();
    expect((result.error.cause as EdgeError).code).toBe('EDGE_NETWORK');
  });

  for (const status of [400, 401, 403, 409, 413, 422, 301]) {
    it(`never retries ${status}: returns it as a refusal with its problem details`, async () => {
      const problem = { type: 'about:blank', title: 'Refused', status, code: 'TELEMETRY_REPLAYED' };
      const { edge, transport, sleeps } = client([{ status, problem }, ok]);
      edge.record(rec(0), T0);
      expect(await edge.flush(T0)).toEqual({
        outcome: 'refused',
        status,
        problem,
        counter: 1n,
        records: 1,
        attempts: 1,
      });
      expect(transport.sent).toHaveLength(1);
      expect(sleeps).toEqual([]);
      expect(edge.stats).toEqual({ sent: 1, accepted: 0, refused: 1, retried: 0, failed: 0 });
    });
  }

  it('does not retry a TLS failure', async () => {
    const { edge, transport } = client([new EdgeError('EDGE_TLS', 'CERT_HAS_EXPIRED'), ok]);
    edge.record(rec(0), T0);
    const result = await edge.flush(T0);
    expect(result).toMatchObject({ outcome: 'failed', attempts: 1 });
    if (result.outcome === 'failed') expect(result.error.code).toBe('EDGE_TLS');
    expect(transport.sent).toHaveLength(1);
  });

  it('keeps the records queued when the counter cannot be advanced', async () => {
    const failing = {
      next(): bigint {
        throw new EdgeError('EDGE_COUNTER_IO', 'disk full');
      },
    };
    const { edge, transport } = client([ok], { counter: failing });
    edge.record(rec(0), T0);
    await expect(edge.flush(T0)).rejects.toMatchObject({ code: 'EDGE_COUNTER_IO' });
    expect(edge.pending).toBe(1);
    expect(transport.sent).toHaveLength(0);
  });

  it('reports when a batch is due, and refuses bad records at record()', () => {
    const { edge } = client([], { batch: { maxRecords: 2, maxAgeMs: 1_000 } });
    expect(() => edge.record({ ...rec(0), longitude: 181 }, T0)).toThrow(ProtocolError);
    edge.record(rec(0), T0);
    expect(edge.due(T0 + 999)).toBe(false);
    expect(edge.due(T0 + 1_000)).toBe(true);
    edge.record(rec(1), T0);
    expect(edge.due(T0)).toBe(true);
  });

  it('refuses a key that does not match its key id at construction, and closes its transport', () => {
    expect(() => client([], { keyId: 'ab'.repeat(32) })).toThrow(EdgeError);
    const { edge, transport } = client([]);
    edge.close();
    expect(transport.closed).toBe(true);
  });
});
