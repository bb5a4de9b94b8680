/**
 * HMAC-SHA256 (hmac-sha256.ts): the 32-byte minimum key length, full 32-byte tags only (every truncation
 * and any padding refused), wrong key kinds, bit flips — and OpenSSL (`openssl mac`, a real peer)
 * computing the same tag. Keys are generated at test time. Constant-time comparison is by construction
 * (timingSafeEqual); it is not asserted with timings (CONVENTIONS: no timing assertions in tests).
 */
import { execFileSync } from 'node:child_process';
import { createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../src/bytes.ts';
import {
  generateHmacSha256Key,
  HMAC_SHA256_MIN_KEY_LENGTH,
  HMAC_SHA256_TAG_LENGTH,
  hmacSha256KeyFromBytes,
  hmacSha256Sign,
  hmacSha256Verify,
} from '../../src/signature/hmac-sha256.ts';
import { flipBit } from '../helpers/merkle.ts';
import { coreErrorCode } from '../helpers/vectors.ts';

const key = generateHmacSha256Key();
const message = utf8('FLEETGATE-SIG-V1\nan HMAC test message');

describe('HMAC-SHA256 keys', () => {
  it('generates 32-byte secret keys', () => {
    expect(key.type).toBe('secret');
    expect(key.symmetricKeySize).toBe(HMAC_SHA256_MIN_KEY_LENGTH);
  });

  it('imports keys of 32 bytes and more, refuses shorter ones with CORE_INVALID_KEY', () => {
    for (const n of [32, 33, 64, 65, 128])
      expect(hmacSha256KeyFromBytes(randomBytes(n)).symmetricKeySize).toBe(n);
    for (const n of [0, 1, 16, 31]) {
      expect(coreErrorCode(() => hmacSha256KeyFromBytes(randomBytes(n)))).toBe('CORE_INVALID_KEY');
    }
  });

  it('refuses a short secret KeyObject made around the import (sign throws, verify is false)', () => {
    const short = createSecretKey(randomBytes(16));
    expect(coreErrorCode(() => hmacSha256Sign(short, message))).toBe('CORE_INVALID_KEY');
    const tag = hmacSha256Sign(key, message);
    expect(hmacSha256Verify(short, message, tag)).toBe(false);
  });

  it('refuses asymmetric keys', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    expect(coreErrorCode(() => hmacSha256Sign(privateKey, message))).toBe('CORE_INVALID_KEY');
    expect(hmacSha256Verify(publicKey, message, new Uint8Array(32))).toBe(false);
  });
});

describe('HMAC-SHA256 tags', () => {
  const tag = hmacSha256Sign(key, message);

  it('is a full 32-byte tag that verifies; another key or message does not', () => {
    expect(tag.byteLength).toBe(HMAC_SHA256_TAG_LENGTH);
    expect(hmacSha256Verify(key, message, tag)).toBe(true);
    expect(hmacSha256Verify(generateHmacSha256Key(), message, tag)).toBe(false);
    expect(hmacSha256Verify(key, utf8('another message'), tag)).toBe(false);
  });

  it('refuses every truncation of a valid tag (0..31 bytes) and any padding', () => {
    for (let n = 0; n < HMAC_SHA256_TAG_LENGTH; n += 1) {
      expect(hmacSha256Verify(key, message, tag.subarray(0, n))).toBe(false);
    }
    expect(hmacSha256Verify(key, message, new Uint8Array([...tag, 0]))).toBe(false);
    expect(hmacSha256Verify(key, message, new Uint8Array([...tag, ...tag]))).toBe(false);
  });

  it('refuses every single-bit flip of the tag', () => {
    for (let bit = 0; bit < HMAC_SHA256_TAG_LENGTH * 8; bit += 1) {
      expect(hmacSha256Verify(key, message, flipBit(tag, bit))).toBe(false);
    }
  });

  it('refuses any single-bit flip of the message (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 256 }), fc.nat(), (msg, bit) => {
        const t = hmacSha256Sign(key, msg);
        expect(hmacSha256Verify(key, msg, t)).toBe(true);
        expect(hmacSha256Verify(key, flipBit(msg, bit % (msg.length * 8)), t)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary tags', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(typeof hmacSha256Verify(key, message, bytes)).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });
});

describe('OpenSSL as a peer (openssl mac HMAC)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fleetgate-hmac-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('computes the same tag for keys of 32, 64 and 100 bytes (the last one hashed first, RFC 2104 §2)', () => {
    for (const n of [32, 64, 100]) {
      const raw = randomBytes(n);
      const msg = randomBytes(300);
      const msgFile = path.join(dir, `msg-${n}.bin`);
      writeFileSync(msgFile, msg);
      const out = execFileSync(
        'openssl',
        ['mac', '-digest', 'SHA256', '-macopt', `hexkey:${raw.toString('hex')}`, '-in', msgFile, 'HMAC'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
      expect(out.trim().toLowerCase()).toBe(toHex(hmacSha256Sign(hmacSha256KeyFromBytes(raw), msg)));
    }
  });
});
