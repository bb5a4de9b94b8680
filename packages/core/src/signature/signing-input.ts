/**
 * Domain-separated signing input for signed envelopes (telemetry batches now, commands later).
 *
 * A signature must never be valid in another context, and must cover every field that changes the
 * meaning of the payload: the payload type, the device counter and the exact payload bytes received.
 * Layout (all lengths big-endian, no ambiguity between fields):
 *
 *   "FLEETGATE-SIG-V1\n" || u32(len(payloadType)) || payloadType || u64(counter) || u64(len(payload)) || payload
 */
import { concatBytes, u32be, u64be, utf8 } from '../bytes.ts';
import { CoreError } from '../errors.ts';

export const SIGNING_DOMAIN = 'FLEETGATE-SIG-V1\n';
const DOMAIN_BYTES = utf8(SIGNING_DOMAIN);
const PAYLOAD_TYPE_RE = /^[a-z0-9.+/-]{1,128}$/;

export function signingInput(payloadType: string, counter: bigint, payload: Uint8Array): Uint8Array {
  if (!PAYLOAD_TYPE_RE.test(payloadType))
    throw new CoreError('CORE_INVALID_ARGUMENT', 'invalid payload type');
  const type = utf8(payloadType);
  return concatBytes(
    DOMAIN_BYTES,
    u32be(type.byteLength),
    type,
    u64be(counter),
    u64be(BigInt(payload.byteLength)),
    payload,
  );
}
