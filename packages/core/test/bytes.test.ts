/** Byte helpers: strict decoders refuse non-canonical input; encoders and decoders round trip. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constantTimeEqual, fromBase64Url, fromHex, toBase64Url, toHex, u32be, u64be } from '../src/bytes.ts';
import { coreErrorCode } from './helpers/vectors.ts';

describe('fromHex', () => {
  it.each([
    ['upper case', 'AB'],
    ['mixed case', 'aB'],
    ['odd length', 'abc'],
    ['non-hex digit', 'zz'],
    ['whitespace', ' ab'],
    ['a 0x prefix', '0xab'],
    ['a trailing newline', 'ab\n'],
  ])('refuses %s', (_, text) => {
    expect(coreErrorCode(() => fromHex(text))).toBe('CORE_INVALID_ENCODING');
  });

  it('decodes lower-case hex, including the empty string', () => {
    expect([...fromHex('00ff10')]).toEqual([0, 255, 16]);
    expect(fromHex('').byteLength).toBe(0);
  });

  it('round trips any bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => toHex(fromHex(toHex(b))) === toHex(b)));
  });
});

describe('fromBase64Url', () => {
  it.each([
    ['padding', 'AA=='],
    ['standard alphabet +', 'a+b_'],
    ['standard alphabet /', 'a/b_'],
    ['a length of 1 mod 4', 'AAAAA'],
    ['non-zero trailing bits', 'AB'],
    ['non-zero trailing bits (2 bytes)', 'AAB'],
    ['whitespace', 'AA AA'],
  ])('refuses %s', (_, text) => {
    expect(coreErrorCode(() => fromBase64Url(text))).toBe('CORE_INVALID_ENCODING');
  });

  it('decodes canonical unpadded base64url', () => {
    expect([...fromBase64Url('-_8')]).toEqual([0xfb, 0xff]);
    expect(fromBase64Url('').byteLength).toBe(0);
  });

  it('round trips any bytes, and the encoding is the only one accepted', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const text = toBase64Url(b);
        return toHex(fromBase64Url(text)) === toHex(b) && !text.includes('=');
      }),
    );
  });
});

describe('fixed-width integers and comparison', () => {
  it('encodes big-endian and refuses out-of-range values', () => {
    expect(toHex(u32be(0x01020304))).toBe('01020304');
    expect(toHex(u64be(0x0102030405060708n))).toBe('0102030405060708');
    expect(coreErrorCode(() => u32be(-1))).toBe('CORE_INVALID_ARGUMENT');
    expect(coreErrorCode(() => u32be(2 ** 32))).toBe('CORE_INVALID_ARGUMENT');
    expect(coreErrorCode(() => u32be(1.5))).toBe('CORE_INVALID_ARGUMENT');
    expect(coreErrorCode(() => u64be(-1n))).toBe('CORE_INVALID_ARGUMENT');
    expect(coreErrorCode(() => u64be(2n ** 64n))).toBe('CORE_INVALID_ARGUMENT');
  });

  it('constantTimeEqual compares content and treats different lengths as unequal', () => {
    expect(constantTimeEqual(fromHex('0102'), fromHex('0102'))).toBe(true);
    expect(constantTimeEqual(fromHex('0102'), fromHex('0103'))).toBe(false);
    expect(constantTimeEqual(fromHex('0102'), fromHex('010200'))).toBe(false);
  });
});
