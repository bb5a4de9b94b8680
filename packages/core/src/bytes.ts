/**
 * Byte helpers used across trust boundaries. Decoders are strict: input that is not exactly the
 * canonical encoding is refused with CORE_INVALID_ENCODING rather than silently repaired.
 */
import { timingSafeEqual } from 'node:crypto';
import { CoreError } from './errors.ts';

const HEX_RE = /^(?:[0-9a-f]{2})*$/;
const B64URL_RE = /^[A-Za-z0-9_-]*$/;

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Lower-case hex only, even length. */
export function fromHex(hex: string): Uint8Array {
  if (!HEX_RE.test(hex)) throw new CoreError('CORE_INVALID_ENCODING', 'not lower-case hex of even length');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Unpadded base64url; refuses any character outside the alphabet and non-canonical trailing bits. */
export function fromBase64Url(text: string): Uint8Array {
  if (!B64URL_RE.test(text) || text.length % 4 === 1) {
    throw new CoreError('CORE_INVALID_ENCODING', 'not unpadded base64url');
  }
  const out = new Uint8Array(Buffer.from(text, 'base64url'));
  if (toBase64Url(out) !== text) throw new CoreError('CORE_INVALID_ENCODING', 'non-canonical base64url');
  return out;
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

export function u32be(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new CoreError('CORE_INVALID_ARGUMENT', 'u32 out of range');
  }
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

export function u64be(value: bigint): Uint8Array {
  if (value < 0n || value > 0xffffffffffffffffn)
    throw new CoreError('CORE_INVALID_ARGUMENT', 'u64 out of range');
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value);
  return out;
}

/** Constant-time equality for MACs, digests and tokens; different lengths compare unequal. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return timingSafeEqual(a, b);
}
