/**
 * Real tokens from the gateway's token endpoint (POST /oauth/token, client_credentials, tls_client_auth
 * with the partner certificate, RFC 8705): certificate-bound by default, DPoP-bound when a DPoP key is
 * given (with the use_dpop_nonce retry of RFC 9449 §8). Used by the integration tests whose subject is
 * not the token itself (listeners, docs examples).
 */
import { createServer } from 'node:net';
import type { Credentials } from '../../../support/harness.ts';
import { send } from './gateway.ts';
import { type DpopKey, dpopProof } from './mint.ts';

export interface IssuedToken {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

export async function partnerToken(
  controlUrl: string,
  creds: Credentials,
  clientId: string,
  options: { scope?: string; dpop?: DpopKey } = {},
): Promise<IssuedToken> {
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: clientId,
    scope: options.scope ?? 'tenders:write tenders:read',
  }).toString();
  let nonce: string | undefined;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (options.dpop !== undefined) {
      headers.dpop = await dpopProof(options.dpop, {
        htm: 'POST',
        htu: `${controlUrl}/oauth/token`,
        ...(nonce === undefined ? {} : { nonce }),
      });
    }
    const res = await send(`${controlUrl}/oauth/token`, { creds, headers, body });
    if (res.status === 200) return res.json() as unknown as IssuedToken;
    nonce = res.headers['dpop-nonce'] as string | undefined;
    if (res.json().error !== 'use_dpop_nonce' || nonce === undefined) {
      throw new Error(`token endpoint answered ${res.status}: ${res.text}`);
    }
  }
  throw new Error('token endpoint kept asking for a DPoP nonce');
}

/** A port that was free a moment ago (for configuring the issuer URL before the gateway listens). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}
