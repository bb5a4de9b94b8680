/**
 * Anti-replay sliding window over per-device envelope counters (the IPsec/DTLS construction, RFC 4303
 * §3.4.3): the highest counter accepted plus a bitmap of the `size` counters at and below it.
 * A counter above the high-water mark slides the window (any skipped counters are a gap that may still
 * arrive out of order); one inside the window is accepted once; one below it is refused as too old.
 * Pure: the caller loads and stores the state atomically (see ingest.ts).
 */

export interface ReplayState {
  /** -1n when nothing was accepted yet. */
  highWater: bigint;
  /** Bit i set ⇔ counter (highWater − i) was accepted. */
  bits: bigint;
}

export type ReplayDecision =
  | { accepted: true; state: ReplayState; gap: bigint; outOfOrder: boolean }
  | { accepted: false; reason: 'replayed' | 'too-old' };

export const EMPTY_REPLAY_STATE: ReplayState = { highWater: -1n, bits: 0n };

export function checkReplay(state: ReplayState, counter: bigint, size: number): ReplayDecision {
  if (counter < 0n) return { accepted: false, reason: 'too-old' };
  const window = BigInt(size);
  const mask = (1n << window) - 1n;
  if (counter > state.highWater) {
    const shift = counter - state.highWater;
    const bits = shift >= window ? 1n : ((state.bits << shift) | 1n) & mask;
    const gap = state.highWater < 0n ? 0n : shift - 1n;
    return { accepted: true, state: { highWater: counter, bits }, gap, outOfOrder: false };
  }
  const distance = state.highWater - counter;
  if (distance >= window) return { accepted: false, reason: 'too-old' };
  if ((state.bits >> distance) & 1n) return { accepted: false, reason: 'replayed' };
  return {
    accepted: true,
    state: { highWater: state.highWater, bits: state.bits | (1n << distance) },
    gap: 0n,
    outOfOrder: true,
  };
}

/** Fixed-width big-endian bytes of the bitmap, for storage. */
export function encodeBits(bits: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size / 8);
  let v = bits;
  for (let i = out.length - 1; i >= 0; i -= 1) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function decodeBits(bytes: Uint8Array, size: number): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v & ((1n << BigInt(size)) - 1n);
}
