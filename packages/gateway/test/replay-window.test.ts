/** The anti-replay window against a reference model (a set of every counter ever accepted). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkReplay,
  decodeBits,
  EMPTY_REPLAY_STATE,
  encodeBits,
  type ReplayState,
} from '../src/telemetry/replay-window.ts';

describe('replay window', () => {
  it('accepts each counter at most once, refuses below the window, matches a set-based model', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: 300n }), { maxLength: 400 }),
        fc.constantFrom(8, 16, 64),
        (counters, size) => {
          let state: ReplayState = EMPTY_REPLAY_STATE;
          const accepted = new Set<bigint>();
          let high = -1n;
          for (const c of counters) {
            const d = checkReplay(state, c, size);
            const expectedReason = accepted.has(c)
              ? 'replayed'
              : high >= 0n && high - c >= BigInt(size)
                ? 'too-old'
                : null;
            if (expectedReason === null) {
              expect(d.accepted).toBe(true);
              if (d.accepted) state = d.state;
              accepted.add(c);
              if (c > high) high = c;
            } else {
              // A replay far below the window is reported as too old; either way it is refused.
              expect(d.accepted).toBe(false);
            }
          }
        },
      ),
    );
  });

  it('reports gaps and out-of-order arrivals', () => {
    const a = checkReplay(EMPTY_REPLAY_STATE, 1n, 64);
    if (!a.accepted) throw new Error('expected acceptance');
    const b = checkReplay(a.state, 5n, 64);
    expect(b).toMatchObject({ accepted: true, gap: 3n, outOfOrder: false });
    if (!b.accepted) throw new Error('expected acceptance');
    expect(checkReplay(b.state, 3n, 64)).toMatchObject({ accepted: true, outOfOrder: true });
    expect(checkReplay(b.state, 5n, 64)).toEqual({ accepted: false, reason: 'replayed' });
    expect(checkReplay(b.state, -1n, 64)).toEqual({ accepted: false, reason: 'too-old' });
  });

  it('round-trips the bitmap through its stored form', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 1024n) - 1n }), (bits) => {
        expect(decodeBits(encodeBits(bits, 1024), 1024)).toBe(bits);
      }),
    );
  });
});
