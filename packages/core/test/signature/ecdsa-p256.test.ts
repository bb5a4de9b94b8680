/**
 * ECDSA P-256 / SHA-256 (ecdsa-p256.ts): low-S signing, the 64-byte P1363 wire form, range and
 * malleability refusals, strict DER, wrong curves — and OpenSSL (the `openssl` CLI, a real peer) signing
 * for us to verify and verifying what we sign. Keys are generated at test time.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { utf8 } from '../../src/bytes.ts';
import {
  ECDSA_P256_SIGNATURE_LENGTH,
  ecdsaP256Sign,
  ecdsaP256Verify,
  ecdsaP256VerifyDer,
  generateEcdsaP256KeyPair,
  P256_ORDER,
} from '../../src/signature/ecdsa-p256.ts';
import { generateEd25519KeyPair } from '../../src/signature/ed25519.ts';
import { coreErrorCode } from '../helpers/vectors.ts';

const HALF = P256_ORDER >> 1n;
const { privateKey, publicKey } = generateEcdsaP256KeyPair();
const message = utf8('FLEETGATE-SIG-V1\nan ECDSA test message');

const hex32 = (v: bigint): string => v.toString(16).padStart(64, '0');
const scalars = (sig: Uint8Array): { r: bigint; s: bigint } => {
  const h = Buffer.from(sig).toString('hex');
  return { r: BigInt(`0x${h.slice(0, 64)}`), s: BigInt(`0x${h.slice(64)}`) };
};
const p1363 = (r: bigint, s: bigint): Uint8Array => new Uint8Array(Buffer.from(hex32(r) + hex32(s), 'hex'));

function derInt(v: bigint): Buffer {
  let h = v.toString(16);
  if (h.length % 2) h = `0${h}`;
  if (Number.parseInt(h.slice(0, 2), 16) >= 0x80) h = `00${h}`;
  const b = Buffer.from(h, 'hex');
  return Buffer.concat([Buffer.from([0x02, b.length]), b]);
}
const der = (r: bigint, s: bigint): Buffer => {
  const body = Buffer.concat([derInt(r), derInt(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
};
/** Lenient DER → (r, s) for signatures OpenSSL produced (well-formed by construction). */
const derScalars = (sig: Buffer): { r: bigint; s: bigint } => {
  const rl = sig[3] as number;
  const r = BigInt(`0x${sig.subarray(4, 4 + rl).toString('hex')}`);
  const sl = sig[5 + rl] as number;
  return { r, s: BigInt(`0x${sig.subarray(6 + rl, 6 + rl + sl).toString('hex')}`) };
};

describe('ecdsaP256Sign / ecdsaP256Verify', () => {
  it('signs 64 bytes, always low-S, and verifies (any message)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (msg) => {
        const sig = ecdsaP256Sign(privateKey, msg);
        expect(sig.byteLength).toBe(ECDSA_P256_SIGNATURE_LENGTH);
        const { r, s } = scalars(sig);
        expect(r > 0n && r < P256_ORDER && s > 0n && s <= HALF).toBe(true);
        expect(ecdsaP256Verify(publicKey, msg, sig)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses the high-S twin (r, n − s) that plain OpenSSL verification accepts (malleability)', () => {
    const sig = ecdsaP256Sign(privateKey, message);
    const { r, s } = scalars(sig);
    const twin = p1363(r, P256_ORDER - s);
    expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, twin)).toBe(true);
    expect(ecdsaP256Verify(publicKey, message, twin)).toBe(false);
  });

  const rangeCases: [string, (r: bigint, s: bigint) => Uint8Array][] = [
    ['r = 0', (_r, s) => p1363(0n, s)],
    ['s = 0', (r) => p1363(r, 0n)],
    ['r = n', (_r, s) => p1363(P256_ORDER, s)],
    ['s = n', (r) => p1363(r, P256_ORDER)],
    ['r = n + 1', (_r, s) => p1363(P256_ORDER + 1n, s)],
    ['s = n − 1 (the largest high-S)', (r) => p1363(r, P256_ORDER - 1n)],
    ['s = ⌊n/2⌋ + 1 (the smallest high-S)', (r) => p1363(r, HALF + 1n)],
    ['r = s = 0', () => new Uint8Array(64)],
    ['all ones', () => new Uint8Array(64).fill(0xff)],
  ];
  it.each(rangeCases)('refuses %s', (_, make) => {
    const { r, s } = scalars(ecdsaP256Sign(privateKey, message));
    expect(ecdsaP256Verify(publicKey, message, make(r, s))).toBe(false);
  });

  it('refuses every length but 64, including the DER form of a valid signature', () => {
    const sig = ecdsaP256Sign(privateKey, message);
    const { r, s } = scalars(sig);
    for (const bad of [sig.subarray(0, 63), new Uint8Array([...sig, 0]), new Uint8Array(0), der(r, s)]) {
      expect(ecdsaP256Verify(publicKey, message, bad)).toBe(false);
    }
  });

  it('refuses keys of other curves and algorithms; signing with them throws CORE_INVALID_KEY', () => {
    const sig = ecdsaP256Sign(privateKey, message);
    const others: { privateKey: KeyObject; publicKey: KeyObject }[] = [
      generateKeyPairSync('ec', { namedCurve: 'P-384' }),
      generateKeyPairSync('ec', { namedCurve: 'secp256k1' }),
      generateEd25519KeyPair(),
    ];
    for (const other of others) {
      expect(ecdsaP256Verify(other.publicKey, message, sig)).toBe(false);
      expect(coreErrorCode(() => ecdsaP256Sign(other.privateKey, message))).toBe('CORE_INVALID_KEY');
    }
    expect(coreErrorCode(() => ecdsaP256Sign(publicKey, message))).toBe('CORE_INVALID_KEY');
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        expect(typeof ecdsaP256Verify(publicKey, message, bytes)).toBe('boolean');
        expect(typeof ecdsaP256VerifyDer(publicKey, message, bytes)).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });
});

describe('ecdsaP256VerifyDer (strict DER)', () => {
  // A signature whose r has its top bit set, so that DER needs r's leading 0x00: the "missing zero"
  // mutation below then decodes, in a lenient parser, to the very same r (Wycheproof's MissingZero).
  let signed = ecdsaP256Sign(privateKey, message);
  while (scalars(signed).r < 1n << 255n) signed = ecdsaP256Sign(privateKey, message);
  const { r, s } = scalars(signed);
  const good = der(r, s);
  const body = good.subarray(2);

  it('accepts the minimal DER encoding of a low-S signature, and refuses its high-S twin', () => {
    expect(ecdsaP256VerifyDer(publicKey, message, good)).toBe(true);
    expect(ecdsaP256VerifyDer(publicKey, message, der(r, P256_ORDER - s))).toBe(false);
  });

  const mutations: [string, () => Uint8Array][] = [
    ['a trailing zero byte', () => Buffer.concat([good, Buffer.from([0])])],
    ['trailing bytes covered by nothing', () => Buffer.concat([good, Buffer.from([0x05, 0x00])])],
    [
      'a long-form sequence length (0x81)',
      () => Buffer.concat([Buffer.from([0x30, 0x81, body.length]), body]),
    ],
    [
      'an indefinite length (0x80 … 00 00)',
      () => Buffer.concat([Buffer.from([0x30, 0x80]), body, Buffer.from([0, 0])]),
    ],
    ['a sequence length one too long', () => Buffer.concat([Buffer.from([0x30, body.length + 1]), body])],
    ['a truncated body', () => good.subarray(0, good.length - 1)],
    [
      'r padded with a redundant 0x00',
      () => {
        const rb = derInt(r).subarray(2);
        const padded = Buffer.concat([Buffer.from([0x02, rb.length + 1, 0]), rb]);
        const b = Buffer.concat([padded, derInt(s)]);
        return Buffer.concat([Buffer.from([0x30, b.length]), b]);
      },
    ],
    [
      "r's leading 0x00 missing (reads as a negative INTEGER)",
      () => {
        const neg = derInt(r).subarray(3);
        const b = Buffer.concat([Buffer.from([0x02, neg.length]), neg, derInt(s)]);
        return Buffer.concat([Buffer.from([0x30, b.length]), b]);
      },
    ],
    ['a SET tag instead of SEQUENCE', () => Buffer.concat([Buffer.from([0x31, body.length]), body])],
    [
      'an OCTET STRING instead of INTEGER',
      () => {
        const b = Buffer.from(body);
        b[0] = 0x04;
        return Buffer.concat([Buffer.from([0x30, b.length]), b]);
      },
    ],
    ['r = n (out of range)', () => der(P256_ORDER, s)],
    ['r = 0', () => der(0n, s)],
    [
      'a third integer',
      () => {
        const b = Buffer.concat([body, derInt(1n)]);
        return Buffer.concat([Buffer.from([0x30, b.length]), b]);
      },
    ],
  ];
  it.each(mutations)('refuses %s', (_, make) => {
    expect(ecdsaP256VerifyDer(publicKey, message, make())).toBe(false);
  });
});

describe('OpenSSL as a peer (openssl dgst -sha256)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fleetgate-ecdsa-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const keyFile = path.join(dir, 'key.pem');
  const pubFile = path.join(dir, 'pub.pem');
  const msgFile = path.join(dir, 'msg.bin');
  const sigFile = path.join(dir, 'sig.der');
  writeFileSync(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  writeFileSync(pubFile, publicKey.export({ format: 'pem', type: 'spki' }));
  writeFileSync(msgFile, message);
  const openssl = (...args: string[]): string =>
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

  it('verifies what OpenSSL signs: low-S as is, high-S only as its low-S twin', () => {
    const seen = { low: 0, high: 0 };
    for (let i = 0; i < 12; i += 1) {
      openssl('dgst', '-sha256', '-sign', keyFile, '-out', sigFile, msgFile);
      const sig = readFileSync(sigFile);
      const { r, s } = derScalars(sig);
      const low = s <= HALF;
      seen[low ? 'low' : 'high'] += 1;
      expect(ecdsaP256VerifyDer(publicKey, message, sig)).toBe(low);
      expect(ecdsaP256Verify(publicKey, message, p1363(r, low ? s : P256_ORDER - s))).toBe(true);
    }
    expect(seen.low + seen.high).toBe(12);
  });

  it('OpenSSL verifies what we sign (converted to DER)', () => {
    for (let i = 0; i < 4; i += 1) {
      const { r, s } = scalars(ecdsaP256Sign(privateKey, message));
      writeFileSync(sigFile, der(r, s));
      expect(openssl('dgst', '-sha256', '-verify', pubFile, '-signature', sigFile, msgFile)).toContain(
        'Verified OK',
      );
    }
  });
});
