/** DurableCounter: never a value twice, across clean restarts and simulated crashes. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DurableCounter } from '../src/counter.ts';
import { EdgeError } from '../src/errors.ts';

let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleetgate-counter-'));
  path = join(dir, 'counter');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(EdgeError);
    return (e as EdgeError).code;
  }
  throw new Error('expected an EdgeError');
}

const onDisk = (): string => readFileSync(path, 'utf8');

describe('DurableCounter', () => {
  it('starts at 1 and reserves a block on disk, mode 0600, before handing out the first value', () => {
    const counter = DurableCounter.open(path);
    expect(() => statSync(path)).toThrow(); // nothing written until a value is needed
    expect(counter.next()).toBe(1n);
    expect(onDisk()).toBe('fleetgate-counter v1\nnext=1001\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect([counter.next(), counter.next()]).toEqual([2n, 3n]);
    expect(counter.reserved).toBe(1001n);
  });

  it('crash: a new instance on the same file, without close, resumes at the reserved mark', () => {
    const before = DurableCounter.open(path);
    const handedOut = [before.next(), before.next(), before.next()];
    // No close(): the process "died". The next boot opens the same file.
    const after = DurableCounter.open(path);
    const next = after.next();
    expect(next).toBe(1001n);
    expect(handedOut.every((v) => v < next)).toBe(true);
  });

  it('crash mid-block after crossing several blocks still never reuses a value', () => {
    const before = DurableCounter.open(path, { blockSize: 3 });
    const seen: bigint[] = [];
    for (let i = 0; i < 10; i++) seen.push(before.next());
    expect(seen).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n]);
    const after = DurableCounter.open(path, { blockSize: 3 });
    expect(after.next()).toBeGreaterThan(10n);
  });

  it('close() writes back the exact next value, so a clean restart skips nothing', () => {
    const first = DurableCounter.open(path);
    first.next();
    first.next();
    first.close();
    expect(DurableCounter.open(path).next()).toBe(3n);
  });

  it('close() of an instance that was taken over does not lower the mark', () => {
    const stale = DurableCounter.open(path, { blockSize: 10 });
    stale.next(); // 1, reserves up to 11
    const current = DurableCounter.open(path, { blockSize: 10 });
    expect(current.next()).toBe(11n); // reserves up to 21
    stale.close(); // must not write back 2
    expect(DurableCounter.open(path).next()).toBe(21n);
  });

  it('take(n) hands out n consecutive values, even more than a block', () => {
    const counter = DurableCounter.open(path, { blockSize: 5 });
    expect(counter.take(12)).toBe(1n);
    expect(counter.next()).toBe(13n);
    expect(counter.reserved).toBeGreaterThanOrEqual(14n);
  });

  it('never hands out a value twice under any interleaving of values, crashes and clean closes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('take' as const), n: fc.integer({ min: 1, max: 9 }) }),
            fc.constant({ op: 'crash' as const }),
            fc.constant({ op: 'close' as const }),
          ),
          { maxLength: 40 },
        ),
        (blockSize, ops) => {
          rmSync(path, { force: true });
          let counter = DurableCounter.open(path, { blockSize });
          let last = 0n;
          for (const step of ops) {
            if (step.op === 'take') {
              const first = counter.take(step.n);
              expect(first).toBeGreaterThan(last);
              last = first + BigInt(step.n) - 1n;
            } else {
              if (step.op === 'close') counter.close();
              counter = DurableCounter.open(path, { blockSize });
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses a corrupt file instead of starting over', () => {
    for (const content of [
      '',
      'next=5\n',
      'fleetgate-counter v1\nnext=0\n',
      'fleetgate-counter v1\nnext=-4\n',
    ]) {
      writeFileSync(path, content);
      expect(codeOf(() => DurableCounter.open(path))).toBe('EDGE_COUNTER_CORRUPT');
    }
    writeFileSync(path, `fleetgate-counter v1\nnext=${2n ** 64n + 1n}\n`);
    expect(codeOf(() => DurableCounter.open(path))).toBe('EDGE_COUNTER_CORRUPT');
  });

  it('stops at 2^64−1', () => {
    writeFileSync(path, `fleetgate-counter v1\nnext=${2n ** 64n - 1n}\n`);
    const counter = DurableCounter.open(path);
    expect(counter.next()).toBe(2n ** 64n - 1n);
    expect(codeOf(() => counter.next())).toBe('EDGE_COUNTER_EXHAUSTED');
  });

  it('refuses use after close, bad arguments, and an unreadable location', () => {
    const counter = DurableCounter.open(path);
    expect(codeOf(() => counter.take(0))).toBe('EDGE_INVALID_ARGUMENT');
    expect(codeOf(() => DurableCounter.open(path, { blockSize: 0 }))).toBe('EDGE_INVALID_ARGUMENT');
    counter.close();
    expect(codeOf(() => counter.next())).toBe('EDGE_COUNTER_CLOSED');
    expect(codeOf(() => DurableCounter.open(join(dir, 'missing', 'counter')))).toBe('EDGE_COUNTER_IO');
  });

  it('removes temporaries left by a crash between write and rename', () => {
    writeFileSync(join(dir, 'counter.tmp-123-abcdef'), 'fleetgate-counter v1\nnext=99\n');
    writeFileSync(join(dir, 'other-file'), 'keep');
    DurableCounter.open(path).next();
    expect(readdirSync(dir).sort()).toEqual(['counter', 'other-file']);
  });
});
