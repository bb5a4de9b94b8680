/**
 * Hand-rolled protobuf wire writer for tests: builds the hostile encodings (overlong varints,
 * lengths past the end, deep groups) that no conforming encoder would ever produce.
 */
export function varint(value: bigint | number): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? byte | 0x80 : byte);
  } while (v > 0n);
  return out;
}

export function tag(fieldNo: number | bigint, wireType: number): number[] {
  return varint((BigInt(fieldNo) << 3n) | BigInt(wireType));
}

export function lenField(fieldNo: number, body: readonly number[] | Uint8Array): Uint8Array {
  return bytes(tag(fieldNo, 2), varint(body.length), body);
}

export function bytes(...parts: readonly (readonly number[] | Uint8Array)[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** `depth` nested groups on field `fieldNo`, properly terminated. */
export function nestedGroups(fieldNo: number, depth: number): number[] {
  const start = tag(fieldNo, 3);
  const end = tag(fieldNo, 4);
  const out: number[] = [];
  for (let i = 0; i < depth; i++) out.push(...start);
  for (let i = 0; i < depth; i++) out.push(...end);
  return out;
}
