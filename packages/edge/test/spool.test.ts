/**
 * EnvelopeSpool: order, durability across reopen, the full-spool policy (new refused, old kept), a torn
 * last record cut off, damage anywhere else refused, compaction and its crash window, file modes — and
 * a model-based property test (fast-check) over random appends, deliveries and restarts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EdgeError } from '../src/errors.ts';
import { EnvelopeSpool, type SpooledEnvelope } from '../src/spool.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleetgate-spool-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const item = (counter: number, size = 40): SpooledEnvelope => ({
  envelope: new Uint8Array(randomBytes(size)),
  counter: BigInt(counter),
  records: counter % 7,
});

function drainAll(spool: EnvelopeSpool): SpooledEnvelope[] {
  const out: SpooledEnvelope[] = [];
  for (let next = spool.peek(); next !== undefined; next = spool.peek()) {
    out.push(next);
    spool.shift();
  }
  return out;
}

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    if (error instanceof EdgeError) return error.code;
    throw error;
  }
  return undefined;
};

describe('EnvelopeSpool', () => {
  it('gives envelopes back in order, across a reopen, and only removes them on shift', () => {
    const path = join(dir, 'spool');
    const items = [item(1), item(2, 300), item(3)];
    const spool = EnvelopeSpool.open(path);
    for (const i of items) spool.append(i);
    expect(spool.peek()).toEqual(items[0]);
    expect(spool.peek()).toEqual(items[0]);
    spool.shift();
    spool.close();
    const again = EnvelopeSpool.open(path);
    expect(again.length).toBe(2);
    expect(drainAll(again)).toEqual(items.slice(1));
    expect(again.length).toBe(0);
    again.close();
    const empty = EnvelopeSpool.open(path);
    expect(empty.peek()).toBeUndefined();
    empty.close();
  });

  it('keeps its files private: 0700 folder, 0600 files', () => {
    const path = join(dir, 'spool');
    const spool = EnvelopeSpool.open(path);
    spool.append(item(1));
    spool.shift(); // writes a head file too
    spool.append(item(2));
    spool.append(item(3));
    spool.shift();
    expect(statSync(path).mode & 0o777).toBe(0o700);
    expect(statSync(join(path, 'spool.log')).mode & 0o777).toBe(0o600);
    expect(statSync(join(path, 'spool.head')).mode & 0o777).toBe(0o600);
    spool.close();
  });

  it('refuses new envelopes when full and keeps the old ones', () => {
    const spool = EnvelopeSpool.open(join(dir, 'spool'), {
      maxBytes: 16 + 3 * (8 + 12 + 40),
      maxRecords: 10,
    });
    const kept = [item(1), item(2), item(3)];
    for (const i of kept) spool.append(i);
    expect(code(() => spool.append(item(4)))).toBe('EDGE_SPOOL_FULL');
    expect(drainAll(spool)).toEqual(kept);
    spool.close();
    const byCount = EnvelopeSpool.open(join(dir, 'other'), { maxRecords: 2 });
    byCount.append(item(1));
    byCount.append(item(2));
    expect(code(() => byCount.append(item(3)))).toBe('EDGE_SPOOL_FULL');
    byCount.close();
  });

  it('makes room by compacting delivered records, in order', () => {
    const spool = EnvelopeSpool.open(join(dir, 'spool'), { maxBytes: 16 + 3 * (8 + 12 + 40) });
    spool.append(item(1));
    spool.append(item(2));
    spool.append(item(3));
    spool.shift();
    spool.append(item(4)); // needs the room item 1 took
    expect(drainAll(spool).map((i) => i.counter)).toEqual([2n, 3n, 4n]);
    spool.close();
  });

  it('treats a head of an older generation as the start of the log (crash after compaction)', () => {
    const path = join(dir, 'spool');
    const spool = EnvelopeSpool.open(path, { maxBytes: 16 + 3 * (8 + 12 + 40) });
    for (const i of [1, 2, 3]) spool.append(item(i));
    spool.shift();
    const staleHead = readFileSync(join(path, 'spool.head'));
    spool.append(item(4)); // compacts: a log of the next generation
    spool.close();
    writeFileSync(join(path, 'spool.head'), staleHead); // as if the crash came before the head write
    const again = EnvelopeSpool.open(path);
    expect(drainAll(again).map((i) => i.counter)).toEqual([2n, 3n, 4n]);
    again.close();
  });

  it('cuts off a record torn by a crash, at every length', () => {
    const path = join(dir, 'spool');
    const kept = item(1);
    const torn = item(2, 50);
    const spool = EnvelopeSpool.open(path);
    spool.append(kept);
    const sizeBefore = spool.bytes;
    spool.append(torn);
    const sizeAfter = spool.bytes;
    spool.close();
    const full = readFileSync(join(path, 'spool.log'));
    for (let cut = sizeBefore; cut < sizeAfter; cut++) {
      writeFileSync(join(path, 'spool.log'), full.subarray(0, cut));
      const again = EnvelopeSpool.open(path);
      expect(again.length, `cut at ${cut}`).toBe(1);
      expect(again.bytes).toBe(sizeBefore);
      expect(again.peek()).toEqual(kept);
      again.close();
    }
    // A zero-filled tail (what some file systems leave after a crash) is a torn write too.
    writeFileSync(join(path, 'spool.log'), Buffer.concat([full.subarray(0, sizeBefore), Buffer.alloc(64)]));
    const zeroed = EnvelopeSpool.open(path);
    expect(zeroed.length).toBe(1);
    zeroed.close();
  });

  it('refuses damage that is not a torn tail, and files that are not a spool', () => {
    const path = join(dir, 'spool');
    const spool = EnvelopeSpool.open(path);
    for (const i of [1, 2, 3]) spool.append(item(i));
    spool.close();
    const log = readFileSync(join(path, 'spool.log'));
    const flipped = Buffer.from(log);
    flipped[16 + 8 + 20] = (flipped[16 + 8 + 20] ?? 0) ^ 0x01; // inside the first record's envelope
    writeFileSync(join(path, 'spool.log'), flipped);
    expect(code(() => EnvelopeSpool.open(path))).toBe('EDGE_SPOOL_CORRUPT');
    const notASpool = Buffer.from(log);
    notASpool.write('NOTSPOOL', 0);
    writeFileSync(join(path, 'spool.log'), notASpool);
    expect(code(() => EnvelopeSpool.open(path))).toBe('EDGE_SPOOL_CORRUPT');
    writeFileSync(join(path, 'spool.log'), log);
    writeFileSync(join(path, 'spool.head'), 'fleetgate-spool-head v1\ngeneration=1\noffset=99999\n');
    expect(code(() => EnvelopeSpool.open(path))).toBe('EDGE_SPOOL_CORRUPT');
    writeFileSync(join(path, 'spool.head'), 'garbage');
    expect(code(() => EnvelopeSpool.open(path))).toBe('EDGE_SPOOL_CORRUPT');
  });

  it('notices a record changed on disk after it was spooled', () => {
    const path = join(dir, 'spool');
    const spool = EnvelopeSpool.open(path);
    spool.append(item(1));
    const log = readFileSync(join(path, 'spool.log'));
    log[log.length - 1] = (log[log.length - 1] ?? 0) ^ 0xff;
    writeFileSync(join(path, 'spool.log'), log);
    expect(code(() => spool.peek())).toBe('EDGE_SPOOL_CORRUPT');
    spool.close();
  });

  it('refuses arguments outside its limits', () => {
    expect(code(() => EnvelopeSpool.open(join(dir, 'a'), { maxBytes: 0 }))).toBe('EDGE_INVALID_ARGUMENT');
    const spool = EnvelopeSpool.open(join(dir, 'b'));
    expect(code(() => spool.append({ envelope: new Uint8Array(), counter: 1n, records: 1 }))).toBe(
      'EDGE_INVALID_ARGUMENT',
    );
    expect(code(() => spool.append({ ...item(1), counter: 2n ** 64n }))).toBe('EDGE_INVALID_ARGUMENT');
    spool.close();
    expect(code(() => spool.peek())).toBe('EDGE_INVALID_ARGUMENT');
  });

  it('behaves like a bounded FIFO queue under random appends, deliveries, restarts and torn tails', () => {
    type Op =
      | { kind: 'append'; size: number }
      | { kind: 'shift' }
      | { kind: 'reopen' }
      | { kind: 'crash-mid-append'; size: number; keep: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), size: fc.integer({ min: 1, max: 200 }) }),
      fc.record({ kind: fc.constant('shift' as const) }),
      fc.record({ kind: fc.constant('reopen' as const) }),
      fc.record({
        kind: fc.constant('crash-mid-append' as const),
        size: fc.integer({ min: 1, max: 200 }),
        keep: fc.integer({ min: 0, max: 219 }),
      }),
    );
    const maxBytes = 16 + 6 * (8 + 12 + 100);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const path = mkdtempSync(join(dir, 'p-'));
        let spool = EnvelopeSpool.open(path, { maxBytes });
        const model: SpooledEnvelope[] = [];
        let counter = 0;
        try {
          for (const o of ops) {
            if (o.kind === 'append') {
              const next = item(++counter, o.size);
              const result = code(() => spool.append(next));
              if (result === undefined) model.push(next);
              else expect(result).toBe('EDGE_SPOOL_FULL');
            } else if (o.kind === 'shift') {
              expect(spool.peek()).toEqual(model[0]);
              spool.shift();
              model.shift();
            } else if (o.kind === 'reopen') {
              spool.close();
              spool = EnvelopeSpool.open(path, { maxBytes });
            } else {
              // Append, then lose part of it as a crash would; the reopened spool must not have it.
              const before = spool.bytes;
              const next = item(++counter, o.size);
              if (code(() => spool.append(next)) !== undefined) continue;
              const tornAt = before + Math.min(o.keep, spool.bytes - before - 1);
              spool.close();
              truncateSync(join(path, 'spool.log'), tornAt);
              spool = EnvelopeSpool.open(path, { maxBytes });
            }
            expect(spool.length).toBe(model.length);
            expect(spool.bytes).toBeLessThanOrEqual(maxBytes);
          }
          expect(drainAll(spool)).toEqual(model);
        } finally {
          spool.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});
