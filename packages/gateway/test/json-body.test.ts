/** The defensive JSON parser: every refusal is coded, nothing deep or poisoned reaches the handler. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../src/errors/gateway-error.ts';
import { MAX_JSON_DEPTH, parseJsonBody } from '../src/http/json-body.ts';

const codeOf = (input: string | Uint8Array): string => {
  try {
    parseJsonBody(Buffer.from(input));
    return 'ok';
  } catch (error) {
    return error instanceof GatewayError ? error.code : 'UNCODED';
  }
};

describe('parseJsonBody', () => {
  it('refuses nesting 100,000 deep before JSON.parse, and accepts the limit itself', () => {
    expect(codeOf('['.repeat(100_000) + ']'.repeat(100_000))).toBe('REQUEST_JSON_TOO_DEEP');
    expect(codeOf('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH))).toBe('ok');
    expect(codeOf(`{"a":"${'['.repeat(1000)}"}`)).toBe('ok'); // brackets inside strings do not count
    expect(codeOf(`{"a":"\\"${'{'.repeat(100)}"}`)).toBe('ok');
  });

  it('refuses prototype-pollution keys at any depth', () => {
    expect(codeOf('{"__proto__":{"x":1}}')).toBe('REQUEST_FORBIDDEN_KEY');
    expect(codeOf('{"a":[{"constructor":{"prototype":{}}}]}')).toBe('REQUEST_FORBIDDEN_KEY');
  });

  it('refuses BOM, invalid UTF-8 and malformed JSON; parses 1e999 to Infinity for the schema to refuse', () => {
    expect(codeOf('\uFEFF{}')).toBe('REQUEST_MALFORMED_JSON');
    expect(codeOf(new Uint8Array([0x22, 0xc3, 0x28, 0x22]))).toBe('REQUEST_MALFORMED_JSON');
    expect(codeOf('{"a":')).toBe('REQUEST_MALFORMED_JSON');
    expect(parseJsonBody(Buffer.from('{"a":1e999}'))).toEqual({ a: Number.POSITIVE_INFINITY });
  });

  it('never throws anything but a coded GatewayError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(codeOf(bytes)).not.toBe('UNCODED');
      }),
    );
  });
});
