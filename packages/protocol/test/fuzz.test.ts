/**
 * Fuzz-style properties: whatever the bytes, decoding yields a value or a ProtocolError — never
 * another exception — and whatever it yields is a value the encoder accepts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../src/errors.ts';
import { decodeBatch, decodeEnvelope, encodeBatch, encodeEnvelope } from '../src/telemetry.ts';
import { batchArb, envelopeArb } from './arbitraries.ts';
import { tag, varint } from './wire.ts';

type Outcome = 'value' | 'refused';

function outcome(fn: () => unknown): Outcome {
  try {
    fn();
    return 'value';
  } catch (e) {
    if (e instanceof ProtocolError) return 'refused';
    throw e;
  }
}

function decodeOrUndefined<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ProtocolError) return undefined;
    throw e;
  }
}

/** Decodes with both decoders; a value must re-encode (the decoder only returns what it would send). */
function decodeBoth(input: Uint8Array): void {
  const envelope = decodeOrUndefined(() => decodeEnvelope(input));
  if (envelope !== undefined) encodeEnvelope(envelope);
  const batch = decodeOrUndefined(() => decodeBatch(input));
  if (batch !== undefined) encodeBatch(batch);
}

/** Wire tokens: tags over plausible and hostile field numbers and every wire type, varints, lengths. */
const tokenArb: fc.Arbitrary<number[]> = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 7 })).map(([f, w]) => tag(f, w)),
  fc
    .tuple(fc.constantFrom(2 ** 29 - 1, 2 ** 29, 2 ** 32), fc.integer({ min: 0, max: 7 }))
    .map(([f, w]) => tag(f, w)),
  fc.bigInt({ min: 0n, max: 2n ** 70n }).map(varint),
  fc.integer({ min: 0, max: 40 }).map((n) => varint(n)),
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 12 }),
);

function flipBits(input: Uint8Array, positions: readonly number[]): Uint8Array {
  const out = input.slice();
  for (const p of positions) {
    const bit = p % (out.length * 8);
    out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
  }
  return out;
}

describe('decoding never throws anything but ProtocolError', () => {
  it('on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (input) => decodeBoth(input)),
      { numRuns: 3_000 },
    );
  });

  it('on arbitrary sequences of wire tokens', () => {
    fc.assert(
      fc.property(fc.array(tokenArb, { maxLength: 40 }), (tokens) =>
        decodeBoth(new Uint8Array(tokens.flat())),
      ),
      { numRuns: 3_000 },
    );
  });

  it('on bit-flipped valid batches', () => {
    fc.assert(
      fc.property(batchArb, fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), (batch, flips) => {
        decodeBoth(flipBits(encodeBatch(batch), flips));
      }),
      { numRuns: 1_000 },
    );
  });

  it('on bit-flipped valid envelopes', () => {
    fc.assert(
      fc.property(envelopeArb, fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), (envelope, flips) => {
        decodeBoth(flipBits(encodeEnvelope(envelope), flips));
      }),
      { numRuns: 1_000 },
    );
  });

  it('on every truncation of a valid batch, refusing all but the full encoding', () => {
    fc.assert(
      fc.property(batchArb, (batch) => {
        const encoded = encodeBatch(batch);
        for (let n = 0; n < encoded.length; n++) {
          expect(outcome(() => decodeBatch(encoded.subarray(0, n)))).toBe('refused');
        }
        expect(outcome(() => decodeBatch(encoded))).toBe('value');
      }),
      { numRuns: 100 },
    );
  });

  it('finds both outcomes among bit flips, so the property is not vacuous', () => {
    const seen = new Set<Outcome>();
    fc.assert(
      fc.property(batchArb, fc.nat(), (batch, flip) => {
        seen.add(outcome(() => decodeBatch(flipBits(encodeBatch(batch), [flip]))));
      }),
      { numRuns: 500, seed: 42 },
    );
    expect(seen).toEqual(new Set(['value', 'refused']));
  });
});
