/** BatchBuilder: flushing by size and by caller-driven time, bounded memory, sequence numbers. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProtocolError } from '@fleetgate/protocol/errors';
import { DrivingState, decodeBatch, encodeBatch } from '@fleetgate/protocol/telemetry';
import { describe, expect, it } from 'vitest';
import { BatchBuilder } from '../src/batch.ts';
import { DurableCounter } from '../src/counter.ts';
import { EdgeError } from '../src/errors.ts';

const T0 = 1_750_000_000_000;

function rec(i: number) {
  return {
    timeUnixMs: BigInt(T0 + i),
    latitude: 32.7 + i / 1000,
    longitude: -96.8,
    speedMps: 25,
    headingDeg: 90,
    odometerM: 1000 + i,
    drivingState: DrivingState.AUTONOMOUS,
    faults: [],
  };
}

describe('BatchBuilder', () => {
  it('is due by size once maxRecords are pending, and numbers records consecutively', () => {
    const builder = new BatchBuilder({ vehicleId: 'TRK-1', loadId: 'LD-7', maxRecords: 3, maxAgeMs: 60_000 });
    builder.add(rec(0), T0);
    builder.add(rec(1), T0);
    expect(builder.due(T0)).toBe(false);
    expect(builder.poll(T0)).toBeUndefined();
    builder.add(rec(2), T0);
    expect(builder.due(T0)).toBe(true);
    const first = builder.poll(T0 + 5);
    expect(first?.records.map((r) => r.odometerM)).toEqual([1000, 1001, 1002]);
    expect([first?.vehicleId, first?.loadId, first?.firstSequence, first?.sentAtUnixMs]).toEqual([
      'TRK-1',
      'LD-7',
      1n,
      BigInt(T0 + 5),
    ]);
    expect(builder.pending).toBe(0);
    for (let i = 3; i < 6; i++) builder.add(rec(i), T0);
    expect(builder.poll(T0)?.firstSequence).toBe(4n);
  });

  it('is due by time once the oldest record has waited maxAgeMs', () => {
    const builder = new BatchBuilder({ vehicleId: 'TRK-1', maxRecords: 100, maxAgeMs: 1_000 });
    expect(builder.due(T0)).toBe(false);
    builder.add(rec(0), T0);
    builder.add(rec(1), T0 + 600);
    expect(builder.due(T0 + 999)).toBe(false);
    expect(builder.due(T0 + 1_000)).toBe(true);
    const batch = builder.poll(T0 + 1_000);
    expect(batch?.records).toHaveLength(2);
    expect(batch?.loadId).toBe('');
    // The clock restarts with the next oldest record.
    builder.add(rec(2), T0 + 1_500);
    expect(builder.due(T0 + 2_499)).toBe(false);
    expect(builder.due(T0 + 2_500)).toBe(true);
  });

  it('take() returns at most maxRecords, oldest first, due or not', () => {
    const builder = new BatchBuilder({ vehicleId: 'TRK-1', maxRecords: 2 });
    for (let i = 0; i < 5; i++) builder.add(rec(i), T0);
    expect(builder.take(T0)?.records.map((r) => r.odometerM)).toEqual([1000, 1001]);
    expect(builder.pending).toBe(3);
    expect(builder.take(T0)?.firstSequence).toBe(3n);
    expect(builder.take(T0)?.records).toHaveLength(1);
    expect(builder.take(T0)).toBeUndefined();
  });

  it('produces batches the protocol codec accepts', () => {
    const builder = new BatchBuilder({ vehicleId: 'TRK-1', maxRecords: 10 });
    for (let i = 0; i < 10; i++) builder.add(rec(i), T0);
    const batch = builder.take(T0);
    expect(batch).toBeDefined();
    if (batch === undefined) return;
    expect(decodeBatch(encodeBatch(batch))).toEqual(batch);
  });

  it('refuses a record the gateway would refuse, without queueing it', () => {
    const builder = new BatchBuilder({ vehicleId: 'TRK-1' });
    expect(() => builder.add({ ...rec(0), latitude: Number.NaN }, T0)).toThrow(ProtocolError);
    expect(() => builder.add({ ...rec(0), drivingState: DrivingState.UNSPECIFIED }, T0)).toThrow(
      ProtocolError,
    );
    expect(builder.pending).toBe(0);
  });

  it('bounds memory: EDGE_BUFFER_FULL at maxPending', () => {
    const builder = new BatchBuilder({ vehicleId: 'TRK-1', maxRecords: 2, maxPending: 3 });
    for (let i = 0; i < 3; i++) builder.add(rec(i), T0);
    const err = (() => {
      try {
        builder.add(rec(3), T0);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(EdgeError);
    expect((err as EdgeError).code).toBe('EDGE_BUFFER_FULL');
    builder.take(T0);
    expect(() => builder.add(rec(3), T0)).not.toThrow();
  });

  it('refuses options outside their domain', () => {
    const bad = [
      { vehicleId: 'TRK/1' },
      { vehicleId: 'TRK-1', loadId: 'a b' },
      { vehicleId: 'TRK-1', maxRecords: 5_001 },
      { vehicleId: 'TRK-1', maxRecords: 0 },
      { vehicleId: 'TRK-1', maxAgeMs: -1 },
      { vehicleId: 'TRK-1', maxRecords: 10, maxPending: 5 },
    ];
    for (const options of bad) {
      expect(() => new BatchBuilder(options)).toThrow(EdgeError);
    }
    const builder = new BatchBuilder({ vehicleId: 'TRK-1' });
    expect(() => builder.due(Number.NaN)).toThrow(EdgeError);
  });

  it('keeps record numbering across restarts when given a durable sequence', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetgate-seq-'));
    try {
      const path = join(dir, 'sequence');
      const before = DurableCounter.open(path);
      const a = new BatchBuilder({ vehicleId: 'TRK-1', takeSequence: (n) => before.take(n) });
      a.add(rec(0), T0);
      a.add(rec(1), T0);
      expect(a.take(T0)?.firstSequence).toBe(1n);
      // Crash; the next boot continues past everything the old process may have used.
      const after = DurableCounter.open(path);
      const b = new BatchBuilder({ vehicleId: 'TRK-1', takeSequence: (n) => after.take(n) });
      b.add(rec(2), T0);
      expect(b.take(T0)?.firstSequence).toBe(1001n);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
