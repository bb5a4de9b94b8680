/** Retry-After and problem+json parsing: the server's answer is read defensively. */
import { describe, expect, it } from 'vitest';
import { EDGE_ERROR_CODES } from '../src/errors.ts';
import { parseProblem, parseRetryAfter } from '../src/internal/http-answer.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');
  it('reads delay-seconds and HTTP-dates, never a negative delay', () => {
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Sun, 01 Jun 2025 12:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Sun, 01 Jun 2025 11:00:00 GMT', now)).toBe(0);
  });

  it('ignores anything else', () => {
    for (const value of [undefined, '', '-5', '1.5', '9999999999', 'soon', '2025-06-01T12:00:30Z']) {
      expect(parseRetryAfter(value, now)).toBeUndefined();
    }
  });
});

describe('parseProblem', () => {
  it('keeps the members of RFC 9457 with the right types', () => {
    const body = { type: 'https://x/p', title: 'T', status: 409, code: 'C', detail: 'D', extra: 1 };
    expect(parseProblem(utf8(JSON.stringify(body)))).toEqual({
      type: 'https://x/p',
      title: 'T',
      status: 409,
      code: 'C',
      detail: 'D',
    });
  });

  it('drops members of the wrong type and defaults type to about:blank', () => {
    expect(
      parseProblem(utf8('{"type": 1, "title": ["x"], "status": "409", "code": null, "detail": {}}')),
    ).toEqual({
      type: 'about:blank',
    });
    expect(parseProblem(utf8('{"__proto__": {"polluted": true}, "code": "X"}'))).toEqual({
      type: 'about:blank',
      code: 'X',
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('returns undefined for a body that is not a JSON object', () => {
    for (const body of ['', 'not json', '[]', 'null', '"str"', '{"a":']) {
      expect(parseProblem(utf8(body))).toBeUndefined();
    }
  });
});

describe('EdgeError codes', () => {
  it('lists every code once, each in the EDGE_ namespace', () => {
    expect(new Set(EDGE_ERROR_CODES).size).toBe(EDGE_ERROR_CODES.length);
    for (const code of EDGE_ERROR_CODES) expect(code).toMatch(/^EDGE_[A-Z_]+$/);
  });
});
