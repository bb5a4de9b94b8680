/**
 * EdgeClient with an offline spool, against a scripted transport (the real-network versions are in
 * packages/gateway/test/mqtt/ and test/faults/): failed sends are spooled instead of given up; while
 * anything is spooled new envelopes queue behind it; draining is oldest first and stops at the first
 * failure; a refusal leaves the spool with its code; TELEMETRY_REPLAYED for a re-sent envelope counts as
 * delivered; a full spool drops the new envelope (the old ones stay); a restart resumes the drain and
 * never reuses a counter.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEd25519KeyPair, keyIdOf } from '@fleetgate/core/signature/ed25519';
import { DrivingState, decodeEnvelope } from '@fleetgate/protocol/telemetry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EdgeClient } from '../src/client.ts';
import { DurableCounter } from '../src/counter.ts';
import { EdgeError } from '../src/errors.ts';
import { EnvelopeSpool } from '../src/spool.ts';
import type { SendResult } from '../src/transport/https.ts';

const T0 = 1_750_000_000_000;
const { privateKey, publicKey } = generateEd25519KeyPair();
const keyId = keyIdOf(publicKey);

type Step = SendResult | EdgeError;

/** Answers from a script (a whole outage is a run of network errors) and records the counters sent. */
class ScriptedTransport {
  readonly counters: bigint[] = [];
  readonly #script: Step[];
  constructor(script: Step[]) {
    this.#script = [...script];
  }
  async send(envelope: Uint8Array): Promise<SendResult> {
    this.counters.push(decodeEnvelope(envelope).counter);
    const step = this.#script.shift();
    if (step === undefined) throw new Error('script exhausted');
    if (step instanceof EdgeError) throw step;
    return step;
  }
  push(...steps: Step[]): void {
    this.#script.push(...steps);
  }
}

const ok: SendResult = { status: 202 };
const down = () => new EdgeError('EDGE_NETWORK', 'ECONNREFUSED');
const replayed: SendResult = {
  status: 409,
  problem: { type: 'https://fleetgate.dev/errors/telemetry-replayed', code: 'TELEMETRY_REPLAYED' },
};
const skew: SendResult = {
  status: 400,
  problem: { type: 'https://fleetgate.dev/errors/telemetry-clock-skew', code: 'TELEMETRY_CLOCK_SKEW' },
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleetgate-spool-client-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function vehicle(script: Step[], spoolOptions = {}) {
  const counter = DurableCounter.open(join(dir, 'counter'));
  const spool = EnvelopeSpool.open(join(dir, 'spool'), spoolOptions);
  const transport = new ScriptedTransport(script);
  const edge = new EdgeClient({
    vehicleId: 'TRK-0042',
    privateKey,
    keyId,
    counter,
    transport,
    spool,
    batch: { maxRecords: 1 },
    retry: { maxAttempts: 2, baseDelayMs: 1 },
    sleep: async () => undefined,
  });
  const send = (i: number) => {
    edge.record(
      {
        timeUnixMs: BigInt(T0 + i),
        latitude: 32.7,
        longitude: -96.8,
        speedMps: 25,
        headingDeg: 90,
        odometerM: i,
        drivingState: DrivingState.AUTONOMOUS,
        faults: [],
      },
      T0 + i,
    );
    return edge.flush(T0 + i);
  };
  const close = () => {
    edge.close();
    spool.close();
    counter.close();
  };
  return { edge, transport, spool, send, close };
}

describe('EdgeClient with a spool', () => {
  it('spools while the link is down and delivers in counter order once it is back', async () => {
    const v = vehicle([down(), down()]);
    expect(await v.send(1)).toMatchObject({ outcome: 'spooled', counter: 1n, attempts: 2 });
    // Spool not empty: one probe of the oldest, it fails, the new one goes behind it unsent.
    v.transport.push(down());
    expect(await v.send(2)).toMatchObject({ outcome: 'spooled', counter: 2n, attempts: 0 });
    v.transport.push(down());
    expect(await v.send(3)).toMatchObject({ outcome: 'spooled', counter: 3n });
    expect(v.edge.spoolStats).toEqual({ spooled: 3, dropped: 0, waiting: 3 });
    // Back up: the next flush drains 1, 2, 3, then sends 4.
    v.transport.push(ok, ok, ok, ok);
    expect(await v.send(4)).toMatchObject({ outcome: 'accepted', counter: 4n });
    expect(v.transport.counters).toEqual([1n, 1n, 1n, 1n, 1n, 2n, 3n, 4n]);
    expect(v.edge.spoolStats.waiting).toBe(0);
    expect(v.edge.stats).toMatchObject({ accepted: 4, refused: 0, failed: 0 });
    v.close();
  });

  it('drain() delivers on demand, counts a replay of a spooled envelope as delivered, reports refusals', async () => {
    const v = vehicle([down(), down()]);
    await v.send(1);
    v.transport.push(down());
    await v.send(2);
    v.transport.push(down());
    await v.send(3);
    // 1 had reached the gateway before the link broke (its answer was lost); 2 is too old by now.
    v.transport.push(replayed, skew, ok);
    const drained = await v.edge.drain();
    expect(drained).toEqual({
      delivered: 2,
      refused: [{ counter: 2n, status: 400, code: 'TELEMETRY_CLOCK_SKEW' }],
      remaining: 0,
    });
    expect(v.edge.stats).toMatchObject({ accepted: 2, refused: 1 });
    v.close();
  });

  it('stops draining at the first failure and keeps that envelope first', async () => {
    const v = vehicle([down(), down()]);
    await v.send(1);
    v.transport.push(down());
    await v.send(2);
    v.transport.push(ok, down());
    const drained = await v.edge.drain();
    expect(drained).toMatchObject({ delivered: 1, refused: [], remaining: 1 });
    expect(drained.stoppedBy?.code).toBe('EDGE_RETRIES_EXHAUSTED');
    expect(v.spool.peek()?.counter).toBe(2n);
    v.close();
  });

  it('drops the new envelope when the spool is full and keeps the old ones', async () => {
    const v = vehicle([down(), down()], { maxRecords: 1 });
    expect(await v.send(1)).toMatchObject({ outcome: 'spooled', counter: 1n });
    v.transport.push(down());
    const full = await v.send(2);
    expect(full).toMatchObject({ outcome: 'failed', counter: 2n });
    expect(full.outcome === 'failed' && full.error.code).toBe('EDGE_SPOOL_FULL');
    expect(v.edge.spoolStats).toEqual({ spooled: 1, dropped: 1, waiting: 1 });
    expect(v.spool.peek()?.counter).toBe(1n);
    v.close();
  });

  it('survives a restart: the spool is drained first and counters continue past the old ones', async () => {
    const first = vehicle([down(), down()]);
    await first.send(1);
    first.transport.push(down());
    await first.send(2);
    first.close();
    const second = vehicle([ok, ok, ok]);
    expect(second.edge.spoolStats.waiting).toBe(2);
    expect(await second.send(3)).toMatchObject({ outcome: 'accepted', counter: 3n });
    expect(second.transport.counters).toEqual([1n, 2n, 3n]);
    second.close();
  });

  it('a fresh envelope answered TELEMETRY_REPLAYED on its first attempt is a refusal, not a delivery', async () => {
    const v = vehicle([replayed]);
    expect(await v.send(1)).toMatchObject({ outcome: 'refused', status: 409 });
    v.close();
  });

  it('a re-sent envelope answered TELEMETRY_REPLAYED was accepted by an earlier attempt', async () => {
    const v = vehicle([{ status: 503 }, replayed]);
    expect(await v.send(1)).toMatchObject({ outcome: 'accepted', duplicate: true, attempts: 2 });
    v.close();
  });
});
