/**
 * Properties of the authorization server's small parts (fast-check): token buckets never grant more
 * than burst + elapsed × rate; address keys group an IPv6 /64 and unwrap IPv4-mapped addresses; the form
 * parser only ever refuses with a coded OAuthError, whatever the bytes; DPoP nonces verify in their slot
 * and the next, never after, and never when altered; htu normalisation drops query and fragment.
 */
import { createSecretKey, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressKey } from '../../../src/auth/server/abuse/guard.ts';
import { TokenBuckets } from '../../../src/auth/server/abuse/token-buckets.ts';
import { DpopNonces } from '../../../src/auth/server/dpop-nonce.ts';
import { normalizeHtu } from '../../../src/auth/server/dpop-proof.ts';
import { OAuthError } from '../../../src/auth/server/errors.ts';
import { parseForm } from '../../../src/auth/server/form.ts';

describe('token buckets', () => {
  it('never grant more than burst + elapsed × rate, whatever the sequence', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 200 }),
        (burst, perSecond, gaps) => {
          let t = 1_000_000;
          const buckets = new TokenBuckets({ burst, perSecond }, () => new Date(t));
          let granted = 0;
          for (const gap of gaps) {
            t += gap;
            if (buckets.take('k').ok) granted += 1;
          }
          const elapsed = (t - 1_000_000) / 1000;
          expect(granted).toBeLessThanOrEqual(Math.floor(burst + elapsed * perSecond) + 0);
        },
      ),
    );
  });

  it('refuse with a whole-second Retry-After of at least 1, and keys are independent', () => {
    const t = 0;
    const buckets = new TokenBuckets({ burst: 2, perSecond: 1 }, () => new Date(t));
    expect(buckets.take('a').ok).toBe(true);
    expect(buckets.take('a').ok).toBe(true);
    expect(buckets.take('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(buckets.take('b').ok).toBe(true);
  });
});

describe('address keys', () => {
  it('unwrap IPv4-mapped IPv6, keep IPv4, and group IPv6 by /64', () => {
    expect(addressKey('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(addressKey('10.0.0.1')).toBe('10.0.0.1');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2::ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:0:0:0:1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey(undefined)).toBe('unknown');
  });

  it('give every address of one /64 the same key', () => {
    const hex = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
    fc.assert(
      fc.property(
        fc.array(hex, { minLength: 8, maxLength: 8 }),
        fc.array(hex, { minLength: 4, maxLength: 4 }),
        (a, tail) => {
          const b = [...a.slice(0, 4), ...tail];
          expect(addressKey(a.join(':'))).toBe(addressKey(b.join(':')));
        },
      ),
    );
  });
});

describe('form parser', () => {
  it('returns params or throws a coded OAuthError, for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        try {
          parseForm(Buffer.from(bytes));
        } catch (error) {
          expect(error).toBeInstanceOf(OAuthError);
          expect((error as OAuthError).code).toBe('OAUTH_INVALID_REQUEST');
        }
      }),
    );
  });

  it('refuses a parameter sent twice, too many parameters, and a body over 16 KiB', () => {
    expect(() => parseForm(Buffer.from('a=1&a=1'))).toThrow(OAuthError);
    expect(() => parseForm(Buffer.from(Array.from({ length: 33 }, (_, i) => `p${i}=1`).join('&')))).toThrow(
      /too many/,
    );
    expect(() => parseForm(Buffer.alloc(16 * 1024 + 1, 0x61))).toThrow(/too large/);
    const form = parseForm(Buffer.from('grant_type=client_credentials&scope=a+b%3A'));
    expect(form.get('scope')).toBe('a b:');
  });
});

describe('DPoP nonces', () => {
  it('verify in their slot and the next, not after, and not when altered', () => {
    const key = createSecretKey(randomBytes(32));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 21 }), (start, flip) => {
        let t = start;
        const nonces = new DpopNonces(key, 60, () => new Date(t));
        const nonce = nonces.issue();
        expect(nonces.verify(nonce)).toBe(true);
        const bytes = Buffer.from(nonce, 'base64url');
        bytes[flip] = (bytes[flip] ?? 0) ^ 1;
        expect(nonces.verify(bytes.toString('base64url'))).toBe(false);
        t += 60_000;
        expect(nonces.verify(nonce)).toBe(true);
        t += 60_000;
        expect(nonces.verify(nonce)).toBe(false);
      }),
    );
    const other = new DpopNonces(createSecretKey(randomBytes(32)), 60, () => new Date(0));
    expect(new DpopNonces(key, 60, () => new Date(0)).verify(other.issue())).toBe(false);
    expect(other.verify(undefined)).toBe(false);
    expect(other.verify('x'.repeat(30))).toBe(false);
  });
});

describe('htu normalisation', () => {
  it('drops query and fragment and lower-cases scheme and host', () => {
    expect(normalizeHtu('HTTPS://LocalHost:8443/oauth/token?x=1#f')).toBe(
      'https://localhost:8443/oauth/token',
    );
    expect(normalizeHtu('https://localhost:443/oauth/token')).toBe('https://localhost/oauth/token');
    expect(normalizeHtu('not a url')).toBeUndefined();
  });
});
