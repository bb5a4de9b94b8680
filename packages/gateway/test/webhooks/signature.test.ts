/**
 * Standard Webhooks signatures (webhooks/sign.ts, verify.ts, secret.ts):
 *  - the specification's published test vector (the reference libraries' `msg_p5jXN8AQM9LWM0D4loKWxJek`
 *    vector) signs and verifies;
 *  - properties: verify(sign(x)) holds for any id, time and body; any single byte flipped in the body,
 *    the id, the timestamp or the signature is refused; a timestamp outside the tolerance is refused;
 *  - rotation: a header with the old and the new signature verifies under either secret;
 *  - malformed headers and secrets are refused with their codes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeWebhookSecret, generateWebhookSecret } from '../../src/webhooks/secret.ts';
import { signWebhook } from '../../src/webhooks/sign.ts';
import { verifyWebhook, WebhookVerificationError } from '../../src/webhooks/verify.ts';

const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const codeOf = (fn: () => void): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error.code;
    throw error;
  }
};

describe('Standard Webhooks signatures', () => {
  it('matches the specification test vector', () => {
    const headers = signWebhook([VECTOR.secret], VECTOR.id, VECTOR.timestamp, VECTOR.body);
    expect(headers).toEqual({
      'webhook-id': VECTOR.id,
      'webhook-timestamp': String(VECTOR.timestamp),
      'webhook-signature': VECTOR.signature,
    });
    const at = new Date(VECTOR.timestamp * 1000);
    expect(codeOf(() => verifyWebhook(VECTOR.secret, headers, VECTOR.body, at, 300))).toBeUndefined();
    // The reference libraries also accept the bare base64 secret.
    expect(
      codeOf(() => verifyWebhook(VECTOR.secret.slice(6), new Headers(headers), VECTOR.body, at, 300)),
    ).toBeUndefined();
  });

  it('generates whsec_ secrets of 32 random bytes', () => {
    const a = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(decodeWebhookSecret(a)).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(a);
    for (const bad of ['whsec_', 'whsec_c2hvcnQ=', 'whsec_!!!!', `whsec_${'A'.repeat(120)}`])
      expect(() => decodeWebhookSecret(bad)).toThrow();
  });

  const message = fc.record({
    id: fc.stringMatching(/^[A-Za-z0-9_:-]{1,64}$/),
    timestamp: fc.integer({ min: 1_000_000_000, max: 4_000_000_000 }),
    body: fc.uint8Array({ minLength: 0, maxLength: 512 }),
  });

  it('verify(sign(x)) holds; any flipped byte is refused', () => {
    const secret = generateWebhookSecret();
    fc.assert(
      fc.property(
        message,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.constantFrom('body', 'id', 'timestamp', 'signature'),
        ({ id, timestamp, body }, where, mask, part) => {
          const headers = signWebhook([secret], id, timestamp, body);
          const now = new Date(timestamp * 1000);
          expect(codeOf(() => verifyWebhook(secret, headers, body, now, 300))).toBeUndefined();
          const flip = (bytes: Uint8Array) => {
            const copy = Uint8Array.from(bytes);
            const i = where % copy.length;
            copy[i] = (copy[i] ?? 0) ^ mask;
            return copy;
          };
          const flipText = (text: string) =>
            Buffer.from(flip(Buffer.from(text, 'latin1'))).toString('latin1');
          if (part === 'body') {
            if (body.length === 0) return;
            expect(codeOf(() => verifyWebhook(secret, headers, flip(body), now, 300))).toBe(
              'WEBHOOK_SIGNATURE_INVALID',
            );
          } else {
            const name = `webhook-${part}` as const;
            const value = part === 'signature' ? headers[name].slice(3) : headers[name];
            const flipped = part === 'signature' ? `v1,${flipText(value)}` : flipText(value);
            const code = codeOf(() => verifyWebhook(secret, { ...headers, [name]: flipped }, body, now, 300));
            expect(code).toBeDefined();
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses timestamps outside the tolerance, either way', () => {
    const secret = generateWebhookSecret();
    fc.assert(
      fc.property(message, fc.integer({ min: 301, max: 10_000_000 }), ({ id, timestamp, body }, skew) => {
        const headers = signWebhook([secret], id, timestamp, body);
        expect(
          codeOf(() => verifyWebhook(secret, headers, body, new Date((timestamp + skew) * 1000), 300)),
        ).toBe('WEBHOOK_TIMESTAMP_TOO_OLD');
        expect(
          codeOf(() => verifyWebhook(secret, headers, body, new Date((timestamp - skew) * 1000), 300)),
        ).toBe('WEBHOOK_TIMESTAMP_TOO_NEW');
      }),
      { numRuns: 200 },
    );
  });

  it('rotation: two signatures, each secret verifies, a third does not', () => {
    const [oldSecret, newSecret, other] = [
      generateWebhookSecret(),
      generateWebhookSecret(),
      generateWebhookSecret(),
    ];
    const headers = signWebhook([newSecret, oldSecret], 'tnd_1:2', 1_700_000_000, '{"a":1}');
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    const now = new Date(1_700_000_000_000);
    expect(codeOf(() => verifyWebhook(newSecret, headers, '{"a":1}', now))).toBeUndefined();
    expect(codeOf(() => verifyWebhook(oldSecret, headers, '{"a":1}', now))).toBeUndefined();
    expect(codeOf(() => verifyWebhook(other, headers, '{"a":1}', now))).toBe('WEBHOOK_SIGNATURE_INVALID');
  });

  it('refuses missing, duplicated and oversized headers, and malformed secrets', () => {
    const secret = generateWebhookSecret();
    const headers = signWebhook([secret], 'id1', 1_700_000_000, 'x');
    const now = new Date(1_700_000_000_000);
    const { 'webhook-signature': _s, ...noSignature } = headers;
    expect(codeOf(() => verifyWebhook(secret, noSignature, 'x', now))).toBe('WEBHOOK_HEADERS_MISSING');
    expect(codeOf(() => verifyWebhook(secret, { ...headers, 'webhook-id': ['a', 'b'] }, 'x', now))).toBe(
      'WEBHOOK_HEADERS_MALFORMED',
    );
    expect(codeOf(() => verifyWebhook(secret, { ...headers, 'webhook-timestamp': '1e9' }, 'x', now))).toBe(
      'WEBHOOK_HEADERS_MALFORMED',
    );
    const many = Array.from({ length: 17 }, () => headers['webhook-signature']).join(' ');
    expect(codeOf(() => verifyWebhook(secret, { ...headers, 'webhook-signature': many }, 'x', now))).toBe(
      'WEBHOOK_HEADERS_MALFORMED',
    );
    // A v1a (asymmetric) or truncated entry is not a match.
    const sig = headers['webhook-signature'];
    expect(
      codeOf(() =>
        verifyWebhook(secret, { ...headers, 'webhook-signature': `v1a,${sig.slice(3)}` }, 'x', now),
      ),
    ).toBe('WEBHOOK_SIGNATURE_INVALID');
    expect(
      codeOf(() => verifyWebhook(secret, { ...headers, 'webhook-signature': sig.slice(0, -4) }, 'x', now)),
    ).toBe('WEBHOOK_SIGNATURE_INVALID');
    expect(codeOf(() => verifyWebhook('whsec_short', headers, 'x', now))).toBe('WEBHOOK_SECRET_INVALID');
  });
});
