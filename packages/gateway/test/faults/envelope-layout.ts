/**
 * Where each byte of an encoded SignedEnvelope sits (protobuf wire format, packages/protocol/proto), so the
 * every-byte bit-flip test can say which refusal each flip must get: a flip inside the signed payload or
 * inside the signature can only fail the signature; one inside the payload type is a malformed envelope;
 * one inside the key id names no key of the vehicle (or is not a key id at all); one in a tag, a length
 * or a varint's continuation bit changes the structure, and any refusal code is acceptable there — as
 * long as it is a refusal and nothing is stored.
 *
 * A deliberately small wire walker for the envelope the edge SDK produces (fields 1–4, one signature),
 * not a general parser; it throws on anything else so the test cannot silently misclassify.
 */

export type Region =
  | 'structure'
  | 'payload'
  | 'payload-type'
  | 'counter'
  | 'algorithm'
  | 'key-id'
  | 'signature';

function varint(bytes: Uint8Array, at: number): { value: bigint; end: number } {
  let value = 0n;
  let shift = 0n;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const b = bytes[i] as number;
    value |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if ((b & 0x80) === 0) return { value, end: i + 1 };
  }
  throw new Error('not a varint');
}

function walk(
  bytes: Uint8Array,
  start: number,
  end: number,
  fields: Record<number, Region>,
  regions: Region[],
  nested?: (from: number, to: number) => void,
): void {
  let at = start;
  while (at < end) {
    const tag = varint(bytes, at);
    const field = Number(tag.value >> 3n);
    const wire = Number(tag.value & 7n);
    const region = fields[field];
    if (region === undefined && !(nested && field === 4)) throw new Error(`unexpected field ${field}`);
    if (wire === 0) {
      const v = varint(bytes, tag.end);
      regions.fill(region ?? 'structure', tag.end, v.end);
      at = v.end;
    } else if (wire === 2) {
      const length = varint(bytes, tag.end);
      const from = length.end;
      const to = from + Number(length.value);
      if (nested && field === 4) nested(from, to);
      else regions.fill(region ?? 'structure', from, to);
      at = to;
    } else {
      throw new Error(`unexpected wire type ${wire}`);
    }
  }
}

/** The region of every byte of `envelope`. */
export function envelopeLayout(envelope: Uint8Array): Region[] {
  const regions: Region[] = new Array(envelope.length).fill('structure');
  walk(envelope, 0, envelope.length, { 1: 'payload', 2: 'payload-type', 3: 'counter' }, regions, (from, to) =>
    walk(envelope, from, to, { 1: 'algorithm', 2: 'key-id', 3: 'signature' }, regions),
  );
  return regions;
}

const HEX_KEY_ID = /^[0-9a-f]{64}$/;

/**
 * The one refusal code a flip of bit `bit` (0–7) of byte `at` must get, or undefined when the flip
 * changes the envelope's structure and any refusal will do.
 */
export function expectedCode(
  envelope: Uint8Array,
  layout: readonly Region[],
  at: number,
  bit: number,
): string | undefined {
  const region = layout[at];
  const flipped = new Uint8Array(envelope);
  flipped[at] = (flipped[at] ?? 0) ^ (1 << bit);
  switch (region) {
    case 'payload':
    case 'signature':
      return 'TELEMETRY_SIGNATURE_INVALID';
    case 'payload-type':
      return 'TELEMETRY_MALFORMED';
    case 'key-id': {
      const first = layout.indexOf('key-id');
      const keyId = Buffer.from(flipped.subarray(first, first + 64)).toString('utf8');
      return HEX_KEY_ID.test(keyId) ? 'TELEMETRY_UNKNOWN_KEY' : 'TELEMETRY_MALFORMED';
    }
    case 'counter': {
      if (bit === 7) return undefined; // a continuation bit: the varint swallows or frees a byte
      const first = layout.indexOf('counter');
      const value = varint(flipped, first).value;
      return value === 0n ? 'TELEMETRY_MALFORMED' : 'TELEMETRY_SIGNATURE_INVALID';
    }
    default:
      return undefined;
  }
}
