/**
 * Reads the access token and the DPoP proof from a request (RFC 6750 §2.1, RFC 9449 §4.1, §7.1).
 *
 * Headers are counted on `rawHeaders`: Node keeps only the first of two `Authorization` headers and joins
 * repeated `DPoP` headers with ", ", so the parsed view would hide exactly the ambiguity an attacker
 * relies on. Two `Authorization` headers are malformed (which one would a proxy have checked?); more than
 * one `DPoP` header is refused (RFC 9449 §4.3 check 1). Tokens in the query or body are never read
 * (RFC 6750 §2.2/§2.3 are optional and leak into logs).
 *
 * Limits: the Authorization value is refused above the token limit plus the scheme before any decoding
 * (the whole header block is already capped at 16 KiB by the listener).
 */
import type { IncomingMessage } from 'node:http';
import { AuthRefusal, type AuthScheme } from './refusal.ts';

export interface Credentials {
  scheme: AuthScheme;
  token: string;
  /** The DPoP header value, when exactly one was sent. */
  proof: string | undefined;
}

// RFC 7235 §2.1: auth-scheme 1*SP token68
const CREDENTIALS = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*) +([A-Za-z0-9._~+/-]+=*)$/;

export function headerValues(raw: Pick<IncomingMessage, 'rawHeaders'>, name: string): string[] {
  const values: string[] = [];
  const headers = raw.rawHeaders;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() === name) values.push(headers[i + 1] as string);
  }
  return values;
}

/** The credentials of a request; throws AuthRefusal (AUTH_TOKEN_MISSING / _MALFORMED / _TOO_LARGE). */
export function readCredentials(
  raw: Pick<IncomingMessage, 'rawHeaders'>,
  maxTokenBytes: number,
): Credentials {
  const authorization = headerValues(raw, 'authorization');
  const proofs = headerValues(raw, 'dpop');
  if (authorization.length === 0) throw new AuthRefusal('AUTH_TOKEN_MISSING');
  if (authorization.length > 1)
    throw new AuthRefusal('AUTH_TOKEN_MALFORMED', 'more than one Authorization header');
  const value = (authorization[0] as string).trim();
  if (value.length > maxTokenBytes + 16) {
    throw new AuthRefusal('AUTH_TOKEN_TOO_LARGE', `access tokens are limited to ${maxTokenBytes} bytes`);
  }
  const match = CREDENTIALS.exec(value);
  if (match === null)
    throw new AuthRefusal('AUTH_TOKEN_MALFORMED', 'expected "Bearer <token>" or "DPoP <token>"');
  const schemeName = (match[1] as string).toLowerCase();
  const token = match[2] as string;
  let scheme: AuthScheme;
  if (schemeName === 'bearer') scheme = 'Bearer';
  else if (schemeName === 'dpop') scheme = 'DPoP';
  else throw new AuthRefusal('AUTH_TOKEN_MALFORMED', 'the authorization scheme must be Bearer or DPoP');
  if (token.length > maxTokenBytes) {
    const refusal = new AuthRefusal(
      'AUTH_TOKEN_TOO_LARGE',
      `access tokens are limited to ${maxTokenBytes} bytes`,
    );
    refusal.scheme = scheme;
    throw refusal;
  }
  if (proofs.length > 1) {
    const refusal = new AuthRefusal('AUTH_DPOP_PROOF_INVALID', 'more than one DPoP header');
    refusal.scheme = scheme;
    throw refusal;
  }
  return { scheme, token, proof: proofs[0] };
}
