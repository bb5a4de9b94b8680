/**
 * Splits and decodes a JWS in compact serialization (RFC 7515 §7.1) without verifying it, so the
 * checks that must come before verification (size, alg, typ, crit, key-bearing headers, issuer routing)
 * can run on the exact header the signature covers.
 *
 * The input is attacker-controlled; parse defensively: a size limit before anything else, exactly three
 * segments, strict base64url (no padding, no other characters — Buffer's decoder would skip them),
 * UTF-8 without BOM, JSON objects only, nesting capped and `__proto__`/`constructor`/`prototype` keys
 * refused (http/json-body.ts). Signature verification (jose compactVerify) later runs over the same
 * received bytes, never over a re-serialization. Duplicate JSON member names resolve to the last one,
 * exactly as in jose, so the checks here and the verified view cannot disagree.
 */
import { GatewayError } from '../../../errors/gateway-error.ts';
import { parseJsonBody } from '../../../http/json-body.ts';

export interface DecodedJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** Why a compact JWS could not be decoded; never contains the input. */
export class JwsDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JwsDecodeError';
  }
}

function jsonObject(segment: string, what: string): Record<string, unknown> {
  if (!SEGMENT.test(segment)) throw new JwsDecodeError(`${what} is not base64url`);
  let value: unknown;
  try {
    value = parseJsonBody(Buffer.from(segment, 'base64url'));
  } catch (error) {
    const reason = error instanceof GatewayError ? error.code.toLowerCase() : 'invalid JSON';
    throw new JwsDecodeError(`${what} is not acceptable JSON (${reason})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JwsDecodeError(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

export function decodeCompactJws(jws: string, maxBytes: number): DecodedJws {
  if (jws.length > maxBytes) throw new JwsDecodeError(`longer than ${maxBytes} bytes`);
  const parts = jws.split('.');
  if (parts.length !== 3) throw new JwsDecodeError('not three dot-separated segments');
  const [header, payload, signature] = parts as [string, string, string];
  // An empty signature is let through to the alg check, which names `none` for what it is.
  if (signature !== '' && !SEGMENT.test(signature)) throw new JwsDecodeError('signature is not base64url');
  return { header: jsonObject(header, 'header'), payload: jsonObject(payload, 'payload') };
}

/** Header parameters that carry or point at a key: never honoured in what we verify (RFC 8725 §3.10). */
export const KEY_BEARING_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;

/** A symmetric or absent algorithm (RFC 8725 §3.1, §3.2): never accepted from a token or a proof. */
export function isForbiddenAlgorithm(alg: string): boolean {
  return alg.toLowerCase() === 'none' || /^HS\d+$/i.test(alg);
}
