/** signingInput: the exact domain-separated layout, refusal of bad payload types and counters, injectivity. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../src/bytes.ts';
import { SIGNING_DOMAIN, signingInput } from '../src/signature/signing-input.ts';
import { coreErrorCode } from './helpers/vectors.ts';

describe('signingInput', () => {
  it('lays out domain || u32 len(type) || type || u64 counter || u64 len(payload) || payload', () => {
    const got = signingInput('telemetry/batch', 0x0102030405060708n, new Uint8Array([0xaa, 0xbb, 0xcc]));
    const expected =
      toHex(utf8('FLEETGATE-SIG-V1\n')) +
      '0000000f' +
      toHex(utf8('telemetry/batch')) +
      '0102030405060708' +
      '0000000000000003' +
      'aabbcc';
    expect(toHex(got)).toBe(expected);
    expect(SIGNING_DOMAIN).toBe('FLEETGATE-SIG-V1\n');
  });

  it('covers the empty payload and the counter extremes', () => {
    expect(toHex(signingInput('a', 0n, new Uint8Array()))).toBe(
      `${toHex(utf8(SIGNING_DOMAIN))}0000000161${'00'.repeat(8)}${'00'.repeat(8)}`,
    );
    expect(toHex(signingInput('a', 0xffffffffffffffffn, new Uint8Array())).includes('ff'.repeat(8))).toBe(
      true,
    );
  });

  it.each([
    ['empty', ''],
    ['upper case', 'Telemetry'],
    ['space', 'a b'],
    ['newline', 'a\nb'],
    ['non-ASCII', 'télémétrie'],
    ['129 characters', 'a'.repeat(129)],
  ])('refuses a payload type that is %s', (_, type) => {
    expect(coreErrorCode(() => signingInput(type, 1n, new Uint8Array()))).toBe('CORE_INVALID_ARGUMENT');
  });

  it('accepts a 128-character payload type', () => {
    expect(signingInput('a'.repeat(128), 1n, new Uint8Array()).byteLength).toBe(17 + 4 + 128 + 8 + 8);
  });

  it.each([-1n, 0x1_0000_0000_0000_0000n])('refuses counter %s', (counter) => {
    expect(coreErrorCode(() => signingInput('a', counter, new Uint8Array()))).toBe('CORE_INVALID_ARGUMENT');
  });

  it('is injective: different (type, counter, payload) never give the same input', () => {
    const arb = fc.tuple(
      fc.stringMatching(/^[a-z0-9.+/-]{1,12}$/),
      fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }),
      fc.uint8Array({ maxLength: 24 }),
    );
    fc.assert(
      fc.property(arb, arb, (a, b) => {
        const same = a[0] === b[0] && a[1] === b[1] && toHex(a[2]) === toHex(b[2]);
        const equal = toHex(signingInput(...a)) === toHex(signingInput(...b));
        return same === equal;
      }),
    );
  });
});
