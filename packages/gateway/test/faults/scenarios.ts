/**
 * The fault scenarios, written once and run over both transports (https-faults.test.ts: real mTLS to the
 * telemetry listener; mqtt-faults.test.ts: through a real Mosquitto): a real vehicle — the edge SDK's
 * EdgeClient with the vehicle's certificate key and a DurableCounter — talks to a real gateway through
 * the sim's FaultyTransport, and each scenario asserts exactly which batches the store holds and which
 * refusals it recorded, with which code, for which bytes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgeClient, type EnvelopeTransport, type FlushResult } from '@fleetgate/edge/client';
import { DurableCounter } from '@fleetgate/edge/counter';
import { signEnvelope } from '@fleetgate/edge/signer';
import { DrivingState, TELEMETRY_PAYLOAD_TYPE } from '@fleetgate/protocol/telemetry';
import { type Fault, FaultyTransport, flipBit } from '@fleetgate/sim/faulty-transport';
import { expect } from 'vitest';
import { batchBytes, signerFromPem } from '../support/envelopes.ts';
import type { TestGateway } from '../support/harness.ts';
import { envelopeLayout, expectedCode } from './envelope-layout.ts';

export type TransportFactory = (vehicleId: string) => EnvelopeTransport;

/** Any of these is an acceptable refusal of an envelope whose structure a bit flip changed. */
export const REFUSALS = new Set([
  'TELEMETRY_MALFORMED',
  'TELEMETRY_TOO_LARGE',
  'TELEMETRY_SIGNATURE_INVALID',
  'TELEMETRY_UNKNOWN_KEY',
  'TELEMETRY_UNSUPPORTED_ALGORITHM',
  'TELEMETRY_SIGNATURE_DOWNGRADE',
]);

interface StoreView {
  batches(vehicleId: string): Promise<bigint[]>;
  rejections(vehicleId: string): Promise<Array<{ code: string; sha256: string }>>;
}

export function storeView(tg: TestGateway): StoreView {
  return {
    batches: async (vehicleId) =>
      (
        await tg.gateway.store.query<{ counter: string }>(
          'SELECT counter FROM telemetry_batches WHERE vehicle_id = $1 ORDER BY counter',
          [vehicleId],
        )
      ).map((r) => BigInt(r.counter)),
    rejections: async (vehicleId) =>
      (
        await tg.gateway.store.query<{ code: string; envelope_sha256: Uint8Array | null }>(
          'SELECT code, envelope_sha256 FROM telemetry_rejections WHERE vehicle_id = $1 ORDER BY id',
          [vehicleId],
        )
      ).map((r) => ({ code: r.code, sha256: Buffer.from(r.envelope_sha256 ?? []).toString('hex') })),
  };
}

/** A real vehicle: EdgeClient with the vehicle's key, a fresh DurableCounter, one record per batch. */
function vehicle(tg: TestGateway, vehicleId: string, transport: EnvelopeTransport) {
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-fault-'));
  const counter = DurableCounter.open(join(dir, 'counter'));
  const signer = signerFromPem(tg.vehicle(vehicleId).key);
  const client = new EdgeClient({
    vehicleId,
    loadId: 'LOAD-1',
    privateKey: signer.privateKey,
    keyId: signer.keyId,
    counter,
    transport,
    batch: { maxRecords: 1 },
    retry: { maxAttempts: 3, baseDelayMs: 1 },
    sleep: async () => undefined,
  });
  let i = 0;
  const flush = async (): Promise<FlushResult> => {
    const now = Date.now();
    client.record(
      {
        timeUnixMs: BigInt(now),
        latitude: 32.7767,
        longitude: -96.797 + i++ * 0.001,
        speedMps: 26.8,
        headingDeg: 160,
        odometerM: 1000 + i,
        drivingState: DrivingState.AUTONOMOUS,
        faults: [],
      },
      now,
    );
    return client.flush(now);
  };
  return {
    signer,
    flush,
    close: () => {
      counter.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A bit inside the signature (the envelope's last 64 bytes): only the signature check can catch it. */
const SIGNATURE_BIT = (envelope: Uint8Array): number => (envelope.length - 20) * 8 + 3;

/**
 * Drops, a lost answer, a duplicate, a bit flip, an attacker's replay and a held-back copy, with
 * EdgeClient retrying as it does in a truck. Exactly counters 1, 2, 3, 4, 6 and 7 are stored; 5 (flipped)
 * never is; every copy the gateway saw twice is refused as TELEMETRY_REPLAYED.
 */
export async function mixedFaults(tg: TestGateway, makeTransport: TransportFactory): Promise<void> {
  const id = 'TRK-001';
  const plan: Record<number, Fault> = {
    1: { kind: 'duplicate' }, // counter 2, twice in a row
    2: { kind: 'drop' }, // counter 3: lost, re-sent by the client as send 3
    4: { kind: 'lose-answer' }, // counter 4: delivered, answer lost; re-sent (send 5) → replayed = accepted
    6: { kind: 'flip', bit: -1 }, // counter 5: one bit of its signature flipped
    7: { kind: 'replay', of: 0 }, // counter 6, then an attacker re-sends counter 1's bytes
    8: { kind: 'hold', after: 1 }, // counter 7: held back, re-sent (send 9), the held copy arrives after
  };
  const faulty = new FaultyTransport(makeTransport(id), {
    plan: (index, envelope) => {
      const fault = plan[index] ?? { kind: 'pass' };
      return fault.kind === 'flip' ? { kind: 'flip', bit: SIGNATURE_BIT(envelope) } : fault;
    },
  });
  const v = vehicle(tg, id, faulty);
  const results: FlushResult[] = [];
  for (let n = 0; n < 7; n++) results.push(await v.flush());
  await faulty.release();
  await faulty.close();
  v.close();

  expect(results.map((r) => [r.outcome, 'counter' in r ? r.counter : undefined])).toEqual([
    ['accepted', 1n],
    ['accepted', 2n],
    ['accepted', 3n],
    ['accepted', 4n],
    ['refused', 5n],
    ['accepted', 6n],
    ['accepted', 7n],
  ]);
  expect(results[3]).toMatchObject({ duplicate: true, attempts: 2 });
  expect(results[4]).toMatchObject({ status: 400, problem: { code: 'TELEMETRY_SIGNATURE_INVALID' } });

  const view = storeView(tg);
  expect(await view.batches(id)).toEqual([1n, 2n, 3n, 4n, 6n, 7n]);
  // What the gateway refused, in the order it saw it, is exactly what the link did.
  expect(faulty.deliveries.map((d) => [d.as, d.status, d.code ?? null])).toEqual([
    ['original', 202, null], // 1
    ['original', 202, null], // 2
    ['duplicate', 409, 'TELEMETRY_REPLAYED'],
    ['original', 202, null], // 3 (its first send was dropped)
    ['original', 202, null], // 4 (answer lost)
    ['original', 409, 'TELEMETRY_REPLAYED'], // 4 re-sent
    ['flipped', 400, 'TELEMETRY_SIGNATURE_INVALID'], // 5
    ['original', 202, null], // 6
    ['replay', 409, 'TELEMETRY_REPLAYED'], // 1 again
    ['original', 202, null], // 7 (its first send held)
    ['held', 409, 'TELEMETRY_REPLAYED'], // 7's held copy
  ]);
  const refused = faulty.deliveries.filter((d) => d.status !== 202);
  expect(await view.rejections(id)).toEqual(refused.map((d) => ({ code: d.code, sha256: d.sha256 })));
}

/**
 * Reordering inside the replay window: envelopes held back and delivered after later ones are all
 * stored; one below the window is refused as TELEMETRY_COUNTER_TOO_OLD, one just inside it is stored.
 */
export async function reorderInsideWindow(tg: TestGateway, makeTransport: TransportFactory): Promise<void> {
  const id = 'TRK-002';
  const signer = signerFromPem(tg.vehicle(id).key);
  const sign = (counter: bigint) =>
    signEnvelope({
      payload: batchBytes(id, { firstSequence: counter }),
      payloadType: TELEMETRY_PAYLOAD_TYPE,
      counter,
      privateKey: signer.privateKey,
      keyId: signer.keyId,
    });
  const holds: Record<number, number> = { 0: 5, 3: 2, 7: 1 };
  const faulty = new FaultyTransport(makeTransport(id), {
    answerHeld: 'wait',
    plan: (index) => (holds[index] === undefined ? { kind: 'pass' } : { kind: 'hold', after: holds[index] }),
  });
  const envelopes = Array.from({ length: 12 }, (_, i) => sign(BigInt(i + 1)));
  const answers = await Promise.all(envelopes.map((e) => faulty.send(e)));
  expect(answers.map((a) => a.status)).toEqual(new Array(12).fill(202));
  // Held envelopes arrive after later ones: 7 after 1, 3 after 2, 0 after 6.
  expect(faulty.deliveries.map((d) => d.index)).toEqual([1, 7, 2, 3, 4, 5, 6, 0, 8, 9, 10, 11]);
  const window = BigInt(tg.gateway.config.telemetry.replayWindow);
  const high = 2n * window;
  expect(await faulty.inject(sign(high))).toMatchObject({ status: 202 });
  expect(await faulty.inject(sign(high - window))).toMatchObject({
    status: 409,
    problem: { code: 'TELEMETRY_COUNTER_TOO_OLD' },
  });
  expect(await faulty.inject(sign(high - window + 1n))).toMatchObject({ status: 202 });
  await faulty.close();

  const view = storeView(tg);
  expect(await view.batches(id)).toEqual([
    ...envelopes.map((_, i) => BigInt(i + 1)),
    high - window + 1n,
    high,
  ]);
  expect((await view.rejections(id)).map((r) => r.code)).toEqual(['TELEMETRY_COUNTER_TOO_OLD']);
}

/**
 * One envelope from the vehicle, and one bit flipped at every byte position of it: every variant is
 * refused (with the code its position calls for), recorded once with its digest, and none is stored —
 * then the untouched envelope is accepted, so no variant moved the replay window either.
 */
export async function bitFlipEveryByte(tg: TestGateway, makeTransport: TransportFactory): Promise<void> {
  const id = 'TRK-003';
  const faulty = new FaultyTransport(makeTransport(id), { plan: () => ({ kind: 'drop' }) });
  const v = vehicle(tg, id, faulty);
  const captured = await v.flush(); // the link drops it: the wiretapper holds it
  expect(captured.outcome).toBe('failed');
  v.close();
  const envelope = faulty.seen[0] as Uint8Array;
  const layout = envelopeLayout(envelope);
  const seenCodes = new Map<string, number>();
  for (let at = 0; at < envelope.length; at++) {
    const bit = at % 8;
    const answer = await faulty.inject(flipBit(envelope, at * 8 + bit));
    const code = 'problem' in answer ? answer.problem?.code : undefined;
    const expected = expectedCode(envelope, layout, at, bit);
    if (expected === undefined)
      expect(REFUSALS.has(code ?? ''), `byte ${at} (${layout[at]}): ${code}`).toBe(true);
    else expect(code, `byte ${at} (${layout[at]}), bit ${bit}`).toBe(expected);
    seenCodes.set(code ?? '', (seenCodes.get(code ?? '') ?? 0) + 1);
  }
  const view = storeView(tg);
  expect(await view.batches(id)).toEqual([]);
  const rejections = await view.rejections(id);
  expect(rejections).toHaveLength(envelope.length);
  expect(rejections).toEqual(faulty.deliveries.map((d) => ({ code: d.code, sha256: d.sha256 })));
  // Each region was actually hit (the walker found the fields it claims).
  for (const region of ['payload', 'payload-type', 'counter', 'key-id', 'signature', 'structure']) {
    expect(layout, region).toContain(region);
  }
  expect(seenCodes.get('TELEMETRY_SIGNATURE_INVALID')).toBeGreaterThan(64);
  expect(await faulty.inject(envelope)).toMatchObject({ status: 202 });
  expect(await view.batches(id)).toEqual([1n]);
  await faulty.close();
}
